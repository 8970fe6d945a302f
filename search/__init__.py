"""Elasticsearch mappings, index lifecycle, bulk indexing and the query API."""
