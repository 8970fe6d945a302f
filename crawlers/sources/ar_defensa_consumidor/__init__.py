"""The ar_defensa_consumidor source: YAML, parser and recorded responses (see crawlers/README.md)."""
