"""The gcc_gso source: YAML, parser and recorded responses (see crawlers/README.md)."""
