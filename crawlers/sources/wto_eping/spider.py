"""WTO ePing: the generic paging spider, started on the endpoint the settings choose (see endpoints.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.http import Request

from crawlers.sources.wto_eping.endpoints import Endpoint, endpoint
from crawlers.spiders.base import SourceSpider


class WtoEpingSpider(SourceSpider):
    name = "wto_eping"
    # getAll is sorted newest first; the search API is filtered by distributionDateFrom instead, so
    # none of its pages is stale (endpoints._search_url).
    stop_paging_when_stale = True

    def __init__(self, eping: Endpoint | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        # Tests pass the endpoint; a crawl reads it from the settings the child process was given.
        self.endpoint = eping or self._configured()
        self.allowed_domains = sorted(set(self.allowed_domains) | set(self.endpoint.hosts))

    def _configured(self) -> Endpoint:
        from tbt_alert.settings import load_settings

        settings = load_settings()
        return endpoint(
            self.config,
            api=settings.eping_api,
            base_url=settings.eping_base_url,
            api_key=settings.eping_api_key,
            since=self.since,
        )

    def start_urls_for(self) -> Iterable[str]:
        return self.endpoint.start_urls

    def request(self, url: str, callback: Any = None, **kwargs: Any) -> Request:
        # Every page of the run (the follow-ups too) carries the key header; it never enters the URL,
        # so the crawl log and the CrawlRun errors, which name URLs, never show it.
        keyed = self.endpoint.headers_for(url)
        if keyed:
            kwargs["headers"] = {**keyed, **kwargs.get("headers", {})}
            # Scrapy keeps custom headers across a redirect to another host: a keyed request is not
            # redirected at all (the redirect shows as an error), so the key never leaves api.wto.org.
            kwargs["meta"] = {**kwargs.get("meta", {}), "dont_redirect": True}
        return super().request(url, callback=callback, **kwargs)
