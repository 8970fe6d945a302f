"""The eaeu_eec source: YAML, parser and recorded responses (see crawlers/README.md)."""
