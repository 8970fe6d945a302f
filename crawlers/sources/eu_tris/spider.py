"""EU TRIS: the research dataset, plus notification pages for the site ids given with -a ids=..."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crawlers.spiders.base import SourceSpider


class EuTrisSpider(SourceSpider):
    name = "eu_tris"

    def __init__(self, ids: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.page_ids = [i.strip() for i in ids.split(",") if i.strip().isdigit()]

    def start_urls_for(self) -> Iterable[str]:
        yield self.config.base_urls["research_dataset"]
        template = self.config.base_urls["notification"]
        for page_id in self.page_ids:
            yield template.format(id=page_id)
