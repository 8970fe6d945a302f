"""Malaysia (KPDN mySAFE): the portal's table of product recalls -> ``recall`` items.

One row per recall: the product's name, a description of the affected products (under the heading
"Product Category"), a photograph, the recall notice as the recalling firm wrote it, the date of the
recall (``24-06-2026``, day first) and a link to the firm's own recall page. The portal gives no
recall a page of its own; its file store numbers each recall (``/storage/recall/101/...`` in the
photograph's address), which is the key.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._html_tables import TableRow, parse_table_page
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected

_RECALL_NUMBER = re.compile(r"/storage/recall/(\d+)/")
_DATE = re.compile(r"^\s*(\d{1,2})-(\d{1,2})-(\d{4})\s*$")


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    return parse_table_page(body, url, config, required=("product", "recalled_on"), read=_read)


def recall_date(text: str | None, *, source: str, record: str) -> dt.date:
    """``24-06-2026`` (day first, as the portal writes it); empty or anything else rejects the row."""
    if not text or not text.strip():
        raise RecordRejected(source, "the Date of Recall cell is empty", record=record, field="recalled_on")
    match = _DATE.match(text)
    if match is None:
        raise RecordRejected(source, f"{text!r} is not a date like 24-06-2026", record=record, field="recalled_on")
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise RecordRejected(source, f"{text!r} is an impossible date", record=record, field="recalled_on") from None


def _text(row: TableRow, name: str) -> str | None:
    cell = row.values.get(name)
    return cell.text if cell else None


def _read(config: SourceConfig, row: TableRow, key: str, url: str) -> dict[str, Any]:
    product = _text(row, "product")
    if not product:
        raise RecordRejected(config.id, "the Product Name cell is empty", record=key, field="product")
    number = _RECALL_NUMBER.search(row.raw)
    published = recall_date(_text(row, "recalled_on"), source=config.id, record=number.group(1) if number else key)
    # Without the file-store number the row is still a recall: keyed by what identifies it on the list.
    source_key = number.group(1) if number else f"{published.isoformat()} {product}"
    details = _text(row, "product_details")
    website = row.values["website"].links if "website" in row.values else []
    extra: dict[str, Any] = {}
    if website:
        extra["relevant_website"] = website[0]
    if row.unmapped:
        extra["unmapped"] = row.unmapped
    return {
        "source_key": source_key,
        "kind": "recall",
        "title": product,
        "description": _text(row, "notice"),
        "products": f"{product}\n{details}" if details and details != product else product,
        "country": config.jurisdiction,
        "published_on": published,
        "url": url,
        "extra": extra,
    }
