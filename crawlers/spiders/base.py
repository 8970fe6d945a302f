"""The base spider: fetch, hand each response to the source's pure parser, yield.

A source's spider only says where to start (``start_urls_for``) and, if needed,
how to navigate; everything a response means is decided by
``crawlers/sources/<source>/parser.py``. The spider records what went wrong so the
store pipeline can give the CrawlRun its status:

- a request that still fails after the retries -> ``errors`` (run is partial);
- a page whose structure changed -> ``fatal`` and the spider closes (run failed);
- a follow-up URL a document named that is not http(s) on the source's own hosts
  -> not fetched, and an ``errors`` entry (run is partial).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, ClassVar, NoReturn

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawlers.items import MeasureItem, ParseResult, Rejected
from crawlers.parsers import Parser, get_parser
from crawlers.sources import SourceConfig, load_source
from crawlers.urls import follow_refusal, source_hosts
from tbt_alert.errors import StructureChanged

log = logging.getLogger(__name__)


class SourceSpider(scrapy.Spider):
    """Base of every tbt-alert spider; subclasses set ``name`` (= the source id)."""

    # When a run has a ``since`` date and a page of a newest-first listing holds only
    # older items, stop paging: the rest is older still.
    stop_paging_when_stale: ClassVar[bool] = False

    def __init__(self, since: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.config: SourceConfig = load_source(self.name)
        self.since: dt.date | None = dt.date.fromisoformat(since) if since else None
        self.parser: Parser = get_parser(self.name)
        self.errors: list[str] = []
        self.fatal: str | None = None
        self.responses_parsed = 0
        # Scrapy's OffsiteMiddleware drops requests to other hosts as a second line behind follow().
        self.allowed_domains: list[str] = source_hosts(self.config)

    # -- what subclasses provide -------------------------------------------------

    def start_urls_for(self) -> Iterable[str]:
        """The first URLs of a run (default: every ``base_urls`` entry)."""
        return self.config.base_urls.values()

    def item_date(self, item: MeasureItem) -> dt.date | None:
        """The date ``since`` is compared with (default: published, else distributed)."""
        return item.published_on or item.distributed_on

    # -- machinery ---------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls_for():
            yield self.request(url)

    def request(self, url: str, callback: Any = None, **kwargs: Any) -> Request:
        return Request(url, callback=callback or self.parse, errback=self.on_error, **kwargs)

    def follow(self, url: str, callback: Any = None) -> Iterator[Request]:
        """A request for a URL a crawled document named, only if the crawl may go there."""
        refusal = follow_refusal(url, self.allowed_domains)
        if refusal is None:
            yield self.request(url, callback=callback)
            return
        message = (
            f"source {self.name}: not following {url!r}: {refusal}; the link was not fetched - check the "
            f"source, and only if it really moved change base_urls in crawlers/sources/{self.name}/{self.name}.yml"
        )
        self.errors.append(message)
        log.warning("%s", message)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        result = self.run_parser(response)
        yield from self.emit(result)

    def run_parser(self, response: Response) -> ParseResult:
        try:
            result = self.parser(response.body, response.url, self.config)
        except StructureChanged as exc:
            self.fail(exc, response.url)
        self.responses_parsed += 1
        return result

    def fail(self, exc: StructureChanged, url: str) -> NoReturn:
        """A page changed shape: record why and close the spider (the run fails)."""
        self.fatal = f"{exc} (at {url})"
        log.error("%s", self.fatal)
        raise CloseSpider("structure_changed")

    def emit(self, result: ParseResult) -> Iterator[Any]:
        recent = [item for item in result.items if self.is_recent(item)]
        yield from recent
        yield from result.rejected
        stale_page = bool(result.items) and not recent
        if self.stop_paging_when_stale and self.since and stale_page:
            return
        for url in result.follow:
            yield from self.follow(url)

    def is_recent(self, item: MeasureItem) -> bool:
        if self.since is None:
            return True
        when = self.item_date(item)
        return when is None or when >= self.since

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.meta.get("tbt_replay_original_url", request.url) if request is not None else "?"
        response = getattr(failure.value, "response", None)
        what = failure.getErrorMessage() or repr(failure.value)
        if response is not None:
            what = f"HTTP {response.status}"
        message = f"source {self.name}: {url} failed after retries: {what}"
        self.errors.append(message)
        log.error(message)


__all__ = ["SourceSpider", "MeasureItem", "Rejected", "ParseResult"]
