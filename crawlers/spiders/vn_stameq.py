"""Vietnam QCVN list: one page, read whole on every run."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider


class VnStameqSpider(SourceSpider):
    # No paging or dates to filter by on the list: each run reads it all; the store counts the
    # regulations it already holds as unchanged.
    name = "vn_stameq"
