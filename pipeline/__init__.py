"""The top layer: the stage functions that DAGs and the CLI share, the CLI itself, operations."""
