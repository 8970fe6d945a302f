"""Health Canada: the FR file first (titles to merge), then the EN dump (the measures).

``-a languages=en`` skips the FR file (the replay snapshot has no FR recording).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy.http import Response

from crawlers.sources.ca_health_canada.parser import french_titles, with_french
from crawlers.spiders.base import SourceSpider
from tbt_alert.errors import StructureChanged


class CaHealthCanadaSpider(SourceSpider):
    name = "ca_health_canada"

    def __init__(self, languages: str = "en,fr", **kwargs: Any):
        super().__init__(**kwargs)
        self.languages = [code.strip() for code in languages.split(",") if code.strip()]
        self.french: dict[str, dict[str, str]] = {}

    async def start(self) -> AsyncIterator[Any]:
        if "fr" in self.languages:
            yield self.request(self.config.base_urls["fr"], callback=self.parse_french)
        else:
            yield self.request(self.config.base_urls["en"])

    def parse_french(self, response: Response) -> Iterator[Any]:
        try:
            self.french = french_titles(response.body, self.config)
        except StructureChanged as exc:
            self.fail(exc, response.url)
        yield self.request(self.config.base_urls["en"])

    def on_error(self, failure: Any) -> Iterator[Any]:  # type: ignore[override]
        super().on_error(failure)
        request = getattr(failure, "request", None)
        if request is not None and request.callback == self.parse_french:
            # Without French titles the English records still count: fetch them.
            yield self.request(self.config.base_urls["en"])

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        result = self.run_parser(response)
        result.items = [with_french(item, self.french) for item in result.items]
        yield from self.emit(result)
