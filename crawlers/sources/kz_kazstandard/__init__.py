"""The kz_kazstandard source: YAML, parser and recorded responses (see crawlers/README.md)."""
