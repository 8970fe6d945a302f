"""US CPSC: one request for the recalls published (or re-published) since the last run."""

from __future__ import annotations

import datetime as dt

from crawlers.items import MeasureItem
from crawlers.spiders.base import SourceSpider


class UsCpscSpider(SourceSpider):
    name = "us_cpsc"

    def start_urls_for(self) -> list[str]:
        url = self.config.base_urls["recalls"]
        since = self.since or self.config.backfill_since
        # LastPublishDateStart also returns older recalls CPSC re-published (updated) since.
        return [f"{url}&LastPublishDateStart={since.isoformat()}" if since else url]

    def item_date(self, item: MeasureItem) -> dt.date | None:
        return None  # the API already filtered by last publish date
