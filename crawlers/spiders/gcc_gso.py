"""GSO draft Gulf technical regulations: one list page, read whole on every run."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider


class GccGsoSpider(SourceSpider):
    # The list is short and has no paging; --since drops drafts distributed before that date.
    name = "gcc_gso"
