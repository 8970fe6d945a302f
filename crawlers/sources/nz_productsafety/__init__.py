"""The nz_productsafety source: YAML, parser and recorded responses (see crawlers/README.md)."""
