"""The tr_gubis source: YAML, parser, spider and recorded responses (see crawlers/README.md)."""
