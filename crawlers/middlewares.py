"""Downloader middlewares: retries that back off, and the offline replay rewrite.

Retries: Scrapy's stock retry middleware re-queues a failed request at once; a
server that answers 429 or 503 needs time, so each retry here waits
``RETRY_BACKOFF_BASE * 2**(attempt-1)`` seconds (or the server's Retry-After),
capped at ``RETRY_BACKOFF_MAX``.

Replay: when ``TBT_REPLAY_URL`` is set, every request is sent to the loopback
replay server instead of the real host (``https://host/path?q`` becomes
``{TBT_REPLAY_URL}/host/path?q``) and the response is given back its real URL, so
spiders and parsers never know the difference and no packet leaves the machine.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry policy, with an exponential wait before each new attempt."""

    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    def _delay(self, request: Request, response: Response | None = None) -> float:
        attempt = int(request.meta.get("retry_times", 0))  # attempts already retried
        delay: float = self.backoff_base * (2**attempt)  # int ** int is Any to mypy
        if response is not None:
            retry_after = response.headers.get(b"Retry-After")
            if retry_after and retry_after.strip().isdigit():
                delay = max(delay, float(retry_after.strip()))
        return min(delay, self.backoff_max)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        delay = self._delay(request, response)
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        await asyncio.sleep(delay)
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if request.meta.get("dont_retry", False) or not isinstance(exception, self.exceptions_to_retry):
            return None
        delay = self._delay(request)
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await asyncio.sleep(delay)
        return retry


class ReplayRewriteMiddleware:
    """Send requests to the loopback replay server when ``TBT_REPLAY_URL`` is set."""

    def __init__(self, replay_url: str | None):
        self.replay_url = replay_url.rstrip("/") if replay_url else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayRewriteMiddleware:
        return cls(crawler.settings.get("TBT_REPLAY_URL"))

    def process_request(self, request: Request) -> Request | None:
        if not self.replay_url or "tbt_replay_original_url" in request.meta:
            return None
        parts = urlsplit(request.url)
        if parts.hostname in ("127.0.0.1", "localhost"):
            return None  # already loopback (tests serving a site directly)
        if not parts.netloc:
            raise IgnoreRequest(f"cannot replay {request.url}: no host")
        target = f"{self.replay_url}/{parts.netloc}{parts.path or '/'}"
        if parts.query:
            target += f"?{parts.query}"
        meta = dict(request.meta, tbt_replay_original_url=request.url)
        # Rescheduled as a new request; it was already through the duplicate filter.
        return request.replace(url=target, meta=meta, dont_filter=True)

    def process_response(self, request: Request, response: Response) -> Response:
        original = request.meta.get("tbt_replay_original_url")
        if original:
            return response.replace(url=original)
        return response
