"""Scrapy project: one spider per source, pure parsers, and the pipelines that store items."""
