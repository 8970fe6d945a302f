"""WTO ePing: page through the getAll API for TBT and SPS, newest first, until --since is passed."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider


class WtoEpingSpider(SourceSpider):
    name = "wto_eping"
    # getAll is sorted by distribution date, newest first: a page holding only notifications older
    # than --since means every later page is older still.
    stop_paging_when_stale = True
