"""The ca_health_canada source: YAML, parser and recorded responses (see crawlers/README.md)."""
