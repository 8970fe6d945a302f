"""The vn_stameq source: YAML, parser and recorded responses (see crawlers/README.md)."""
