"""Kazakhstan (KazStandard): a page of the standards catalogue -> ``standard`` items.

``https://new-shop.ksm.kz/catalog/category/гост/`` lists twenty documents a page, most recently
updated first, each a ``<div class="prod-card">``: a link to the document's page
(``/catalog/document/<n>/``), a status badge (``Принят в МГС (не введен)``, ``Действующий``, ...),
the category, the designation (``ГОСТ 31425.5-2025 / ISO 9902-5:2001``), the Russian title, the
number of pages, one ICS code and the price in tenge. The document number is the key. The card
carries no date, so none is invented.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

_CARD_START = re.compile(r'<div class="prod-card">')
_DIV_TAG = re.compile(r"<(/?)div\b[^>]*>", re.I)
_DOCUMENT = re.compile(r"^/catalog/document/(\d+)/?$")
_PAGES = re.compile(r"^(\d+)\s*стр\.?$")
_PRICE = re.compile(r"^(\d+)$")


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        page = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StructureChanged(config.id, "the page is not UTF-8 text", field="body") from None
    cards = [_card_at(page, m.start()) for m in _CARD_START.finditer(page)]
    if not cards:
        # The ГОСТ category holds 30,108 documents: a page without cards is a changed page.
        raise StructureChanged(config.id, 'no <div class="prod-card"> on the catalogue page', field="prod-card")
    result = ParseResult()
    for index, raw in enumerate(cards, start=1):
        key = _document_number(raw) or f"card {index}"
        result.add(build(config, key, raw, functools.partial(_fields, config, raw, key, url)))
    return result


def _card_at(page: str, start: int) -> str:
    """The card's exact text: from its opening ``<div>`` to the ``</div>`` that closes it."""
    depth = 0
    for tag in _DIV_TAG.finditer(page, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return page[start : tag.end()]
    # An unclosed card (a cut page): kept whole so that the record is judged, not lost.
    return page[start:]


def _document_number(raw: str) -> str | None:
    href = Selector(text=raw).css("a.prod-top::attr(href)").get()
    match = _DOCUMENT.match((href or "").strip())
    return match.group(1) if match else None


def _fields(config: SourceConfig, raw: str, key: str, url: str) -> dict[str, Any]:
    card = Selector(text=raw)
    href = (card.css("a.prod-top::attr(href)").get() or "").strip()
    if not _DOCUMENT.match(href):
        raise RecordRejected(
            config.id, f"no link to a document page (/catalog/document/<n>/): {href!r}", record=key, field="href"
        )
    title = clean_text(" ".join(card.css(".prod-title ::text").getall()))
    if not title:
        raise RecordRejected(config.id, "the card has no title", record=key, field="prod-title")
    designation = clean_text(" ".join(card.css(".prod-code ::text").getall()))
    if not designation:
        raise RecordRejected(config.id, "the card has no designation", record=key, field="prod-code")
    status = clean_text(" ".join(card.css(".prod-badge ::text").getall()))
    meta = [m for m in (clean_text(t) for t in card.css(".prod-meta span ::text").getall()) if m]
    ics = [m for m in meta if not _PAGES.match(m)]
    pages = next((int(p.group(1)) for p in map(_PAGES.match, meta) if p), None)
    price = _PRICE.match(clean_text(card.css(".prod-price::text").get()) or "")
    extra: dict[str, Any] = {
        "status": status,
        "status_code": config.lookup("status", status) if status else None,
        "pages": pages,
        "price_kzt": int(price.group(1)) if price else None,
    }
    return {
        "source_key": key,
        "kind": "standard",
        "title": title,
        "document_symbol": designation,
        "product_type": clean_text(card.css(".prod-cat::text").get()),
        "country": config.jurisdiction,
        "language": "ru",
        "ics_codes": ics,
        "url": urljoin(url, href),
        "extra": extra,
    }
