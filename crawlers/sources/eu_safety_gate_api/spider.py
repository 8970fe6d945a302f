"""Safety Gate per-alert API: fetch alerts in each configured language.

Which alerts: the ``ids`` spider argument (comma-separated API ids) when given; otherwise the
alerts of the weekly reports published since the run's ``since`` date (the newest report when
there is none), discovered from each report's ``reference`` links (see discover.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy.http import Response

from crawlers.parsers._xml import UnsafeDocument, quarantined_document
from crawlers.sources.eu_safety_gate.parser import weekly_reports
from crawlers.sources.eu_safety_gate_api.discover import alert_ids
from crawlers.spiders.base import SourceSpider
from tbt_alert.errors import StructureChanged


class EuSafetyGateApiSpider(SourceSpider):
    name = "eu_safety_gate_api"

    def __init__(self, ids: str = "", languages: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.alert_ids = [i.strip() for i in ids.split(",") if i.strip()]
        chosen = languages.split(",") if languages else self.config.options.get("languages", ["en"])
        self.alert_languages = [lang.strip().lower() for lang in chosen if lang.strip()]

    def alert_urls(self, ids: Iterable[str]) -> list[str]:
        template = self.config.base_urls["alert"]
        return [template.format(id=i, language=lang) for i in ids for lang in self.alert_languages]

    def start_urls_for(self) -> Iterable[str]:
        return self.alert_urls(self.alert_ids) if self.alert_ids else [self.config.base_urls["weekly_list"]]

    async def start(self) -> AsyncIterator[Any]:
        if self.alert_ids:
            for url in self.alert_urls(self.alert_ids):
                yield self.request(url)
            return
        yield self.request(self.config.base_urls["weekly_list"], callback=self.parse_weekly_list)

    def parse_weekly_list(self, response: Response) -> Iterator[Any]:
        try:
            reports = weekly_reports(response.body, response.url, self.config)
        except UnsafeDocument as exc:
            yield quarantined_document(exc, response.body)
            return
        except StructureChanged as exc:
            self.fail(exc, response.url)
        if self.since is None:
            chosen = reports[:1]  # the list is newest first: without a date, the latest report only
        else:
            chosen = [ref for ref in reports if ref.published_on is None or ref.published_on >= self.since]
        for ref in chosen:
            yield from self.follow(ref.url, callback=self.parse_weekly_report)

    def parse_weekly_report(self, response: Response) -> Iterator[Any]:
        try:
            ids = alert_ids(response.body, response.url, self.config)
        except UnsafeDocument as exc:
            yield quarantined_document(exc, response.body)
            return
        except StructureChanged as exc:
            self.fail(exc, response.url)
        for url in self.alert_urls(ids):
            yield from self.follow(url)
