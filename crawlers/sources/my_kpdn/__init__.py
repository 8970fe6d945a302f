"""The my_kpdn source: YAML, parser and recorded responses (see crawlers/README.md)."""
