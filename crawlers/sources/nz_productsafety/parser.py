"""New Zealand (Product Safety, MBIE): the list of recalled products -> ``recall`` items.

``https://www.productsafety.govt.nz/recalls`` shows the twelve newest recalls, newest first, each an
``<article class="recall">``: a link to the recall's own page (``/recalls/<slug>``), the date of the
recall (``<time datetime="2026-10-02T00:00:00+13:00">``, New Zealand time), the title (product and
where it was sold) and the site's product categories. The slug is the key; the categories are kept
as keywords, unmapped. The recall page's fields (hazard, supplier, identifiers) are not read: no
recall page was ever recorded.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

_ARTICLE = re.compile(r"<article\b[^>]*\bclass=\"[^\"]*\brecall\b[^\"]*\"[^>]*>.*?</article>", re.S | re.I)
_SLUG = re.compile(r"^/recalls/([a-z0-9][a-z0-9-]*)/?$")
# The date part of the ISO timestamp is the recall's date in New Zealand, as the page shows it.
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T|$)")


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        page = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StructureChanged(config.id, "the page is not UTF-8 text", field="body") from None
    blocks = [m.group(0) for m in _ARTICLE.finditer(page)]
    if not blocks:
        # The list always shows recalls (1,600 in 2026): none means the page changed shape.
        raise StructureChanged(config.id, 'no <article class="recall"> on the list page', field="article")
    result = ParseResult()
    for index, raw in enumerate(blocks, start=1):
        key = _slug(raw) or f"article {index}"
        result.add(build(config, key, raw, functools.partial(_fields, config, raw, key, url)))
    return result


def _slug(raw: str) -> str | None:
    href = Selector(text=raw).css("a::attr(href)").get()
    if not href:
        return None
    match = _SLUG.match(urlsplit(href.strip()).path)
    return match.group(1) if match else None


def recall_date(value: str | None, *, source: str, record: str) -> dt.date:
    """The date part of ``2026-10-02T00:00:00+13:00``; missing or anything else rejects the recall."""
    match = _ISO_DATE.match((value or "").strip())
    if match is None:
        raise RecordRejected(source, f"{value!r} is not an ISO date and time", record=record, field="datetime")
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise RecordRejected(source, f"{value!r} is an impossible date", record=record, field="datetime") from None


def _fields(config: SourceConfig, raw: str, key: str, url: str) -> dict[str, Any]:
    article = Selector(text=raw)
    href = article.css("a::attr(href)").get()
    if not href or not _SLUG.match(urlsplit(href.strip()).path):
        raise RecordRejected(
            config.id, f"no link to a recall page (/recalls/<name>): {href!r}", record=key, field="href"
        )
    title = clean_text(" ".join(article.css(".recall__title ::text").getall()))
    if not title:
        raise RecordRejected(config.id, "the recall has no title", record=key, field="title")
    published = recall_date(article.css("time::attr(datetime)").get(), source=config.id, record=key)
    categories = [c for c in (clean_text(t) for t in article.css(".recall__category a::text").getall()) if c]
    return {
        "source_key": key,
        "kind": "recall",
        "title": title,
        "country": config.jurisdiction,
        "language": "en",
        "published_on": published,
        "url": urljoin(url, href.strip()),
        "keywords": categories,
        "extra": {"shown_date": clean_text(article.css("time::text").get())},
    }
