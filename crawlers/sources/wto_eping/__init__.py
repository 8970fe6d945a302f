"""The wto_eping source: YAML, parser and recorded responses (see crawlers/README.md)."""
