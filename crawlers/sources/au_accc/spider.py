"""Product Safety Australia: page through the JSON:API newest-changed first, following links.next."""

from __future__ import annotations

import datetime as dt

from crawlers.items import MeasureItem
from crawlers.spiders.base import SourceSpider


class AuAcccSpider(SourceSpider):
    name = "au_accc"
    stop_paging_when_stale = True

    def item_date(self, item: MeasureItem) -> dt.date | None:
        changed = item.extra.get("changed_on")
        return dt.date.fromisoformat(changed) if changed else item.published_on
