"""The au_accc source: YAML, parser and recorded responses (see crawlers/README.md)."""
