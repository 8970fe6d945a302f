"""RappelConso: page through the v2 dataset's records, newest first; --since becomes a server-side filter."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.spiders.base import SourceSpider


class FrRappelconsoSpider(SourceSpider):
    name = "fr_rappelconso"
    # Sorted by date_publication descending: a page holding only older sheets ends the run.
    stop_paging_when_stale = True

    def start_urls_for(self) -> Iterable[str]:
        url = self.config.base_urls["records"]
        if self.since is None:
            return [url]
        # ODSQL filter, so the API sends only the recent sheets instead of us paging past old ones.
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        query["where"] = f'date_publication >= "{self.since.isoformat()}"'
        return [urlunsplit(parts._replace(query=urlencode(query)))]
