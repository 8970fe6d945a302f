"""EU Safety Gate: read the weekly report list, fetch the reports published since the last run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from crawlers.parsers._xml import UnsafeDocument, quarantined_document
from crawlers.sources.eu_safety_gate.parser import parse_report, weekly_reports
from crawlers.spiders.base import SourceSpider
from tbt_alert.errors import StructureChanged

# A weekly report holds 10-130 alerts: tens to hundreds of kilobytes (the largest recorded is 188 kB),
# and the list of every report since 2005 a few hundred kilobytes. The project-wide cap (512 MiB, for the
# Health Canada dump) would let one hostile report make ElementTree hold gigabytes (review M5).
REPORT_MAXSIZE = 16 * 1024 * 1024
REPORT_WARNSIZE = 2 * 1024 * 1024


class EuSafetyGateSpider(SourceSpider):
    name = "eu_safety_gate"
    custom_settings: dict[str, Any] | None = {
        "DOWNLOAD_MAXSIZE": REPORT_MAXSIZE,
        "DOWNLOAD_WARNSIZE": REPORT_WARNSIZE,
    }

    def start_urls_for(self) -> list[str]:
        return [self.config.base_urls["weekly_list"]]

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        try:
            reports = weekly_reports(response.body, response.url, self.config)
        except UnsafeDocument as exc:
            # One hostile list is quarantined; the run records it and ends with nothing to fetch.
            yield quarantined_document(exc, response.body)
            return
        except StructureChanged as exc:
            self.fail(exc, response.url)
        since = self.since or self.config.backfill_since
        for ref in reports:
            if since is None or ref.published_on is None or ref.published_on >= since:
                yield from self.follow(ref.url, callback=self.parse_report)

    def parse_report(self, response: Response) -> Iterator[Any]:
        try:
            result = parse_report(response.body, response.url, self.config)
        except StructureChanged as exc:
            self.fail(exc, response.url)
        yield from self.emit(result)
