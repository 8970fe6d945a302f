"""The spider machinery: the base ``SourceSpider`` and the loader that finds each source's spider.

A source's own spider, when it needs one, is ``crawlers/sources/<id>/spider.py``.
"""
