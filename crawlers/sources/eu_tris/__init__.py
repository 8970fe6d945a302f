"""The eu_tris source: YAML, parser and recorded responses (see crawlers/README.md)."""
