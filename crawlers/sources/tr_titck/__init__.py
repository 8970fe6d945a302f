"""The tr_titck source: YAML, parser and recorded responses (see crawlers/README.md)."""
