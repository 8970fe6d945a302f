"""EAEU technical regulations: one list page, read whole on every run."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider


class EaeuEecSpider(SourceSpider):
    # The list is short (about fifty regulations) and has no paging or dates to filter by: each
    # run reads all of it, and unchanged regulations are counted as unchanged by the store.
    name = "eaeu_eec"
