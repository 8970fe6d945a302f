"""The us_cpsc source: YAML, parser and recorded responses (see crawlers/README.md)."""
