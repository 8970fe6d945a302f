"""The ru_rosstandart source: YAML, parser and recorded responses (see crawlers/README.md)."""
