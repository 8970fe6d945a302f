"""GÜBİS: walk the notification pages by rid from ``options.start_rid``; an HTTP 404 ends the walk."""

from __future__ import annotations

from collections.abc import Iterable

from twisted.python.failure import Failure

from crawlers.spiders.base import SourceSpider


class TrGubisSpider(SourceSpider):
    name = "tr_gubis"

    def start_urls_for(self) -> Iterable[str]:
        from crawlers.sources.tr_gubis.parser import rid_of

        url = self.config.base_urls["detay"]
        start = self.config.options.get("start_rid")
        rid = rid_of(url)
        if start is None or rid is None:
            return [url]
        return [url.replace(f"rid={rid}", f"rid={int(start)}")]

    def on_error(self, failure: Failure) -> None:
        # The walk asks for the rid after the newest notification; a 404 there is its end, not a fault.
        response = getattr(failure.value, "response", None)
        request = getattr(failure, "request", None)
        first = request is not None and request.meta.get("depth", 0) == 0
        if response is not None and response.status == 404 and not first:
            return
        super().on_error(failure)
