"""Pipeline glue: settings, errors, the stage functions shared by DAGs and CLI, local services."""
