"""The fr_rappelconso source: YAML, parser and recorded responses (see crawlers/README.md)."""
