"""The eu_safety_gate_api source: YAML, parser and recorded responses (see crawlers/README.md)."""
