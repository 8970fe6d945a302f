"""The eu_safety_gate source: YAML, parser and recorded responses (see crawlers/README.md)."""
