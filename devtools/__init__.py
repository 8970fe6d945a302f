"""Development tools, not shipped in the wheel: the local services (Elasticsearch, PostgreSQL,
an SMTP sink on loopback) that `make run`, the tests and the benchmarks start.
"""
