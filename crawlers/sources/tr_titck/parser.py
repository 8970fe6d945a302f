"""Türkiye (TİTCK): the list of unsafe cosmetic products -> ``recall`` items in Turkish.

TİTCK publishes one HTML table per product group (``/dinamikmodul/113``: cosmetics), newest first:
firm or product owner, product (often ``8807779000970 Barkod numaralı ...``), lot or series, country of
origin (Turkish names, mapped by the YAML's ``countries`` lookup), the reason with the administrative
sanction, and the date (``10/04/2026``, day first). Columns are found by their headings (the YAML's
``columns`` lookup). The list has no record number, so a row is keyed by its date, firm,
product and lot (two rows of the full list repeat all four: one measure listed twice).
"""

from __future__ import annotations

import re
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._fields import country_code, parse_date
from crawlers.parsers._html_tables import TableRow, parse_table_page
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected

_GTIN = re.compile(r"(?<!\d)(\d{13})(?!\d)")
# A sentence of the reason cell that says what was done rather than what was found.
_SANCTION = re.compile(r"yaptırım|ceza|toplat|imha|yasakla|durdur", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!])\s+")


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    return parse_table_page(body, url, config, required=("firm", "product", "date"), read=_read)


def _text(row: TableRow, name: str) -> str | None:
    cell = row.values.get(name)
    return cell.text.replace("\n", " ") if cell and cell.text else None


def split_reason(text: str | None) -> tuple[str | None, str | None]:
    """(what was found, what was done): the reason cell's sentences that name a sanction are the second."""
    if not text:
        return None, None
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip().strip('"“”').strip()) if s.strip()]
    found = [s for s in sentences if not _SANCTION.search(s)]
    done = [s for s in sentences if _SANCTION.search(s)]
    return (" ".join(found) or None), (" ".join(done) or None)


def _read(config: SourceConfig, row: TableRow, key: str, url: str) -> dict[str, Any]:
    firm = _text(row, "firm")
    product = _text(row, "product")
    if not product:
        raise RecordRejected(config.id, "the product cell is empty", record=key, field="product")
    if not firm:
        raise RecordRejected(config.id, "the firm cell is empty", record=key, field="firm")
    date = parse_date(_text(row, "date"), ("%d/%m/%Y", "%d.%m.%Y"), source=config.id, record=key, field="date")
    if date is None:
        raise RecordRejected(config.id, "the date cell is empty", record=key, field="date")
    lot = _text(row, "lot")
    # The same product is listed once per lot found unsafe, so the lot is part of the key.
    source_key = " | ".join(part for part in (date.isoformat(), firm, product, lot) if part)
    hazard, measures = split_reason(_text(row, "reason"))
    extra: dict[str, Any] = {"firm": firm}
    gtin = _GTIN.search(product)
    if gtin:
        extra["gtin"] = gtin.group(1)
    if lot:
        extra["lot"] = lot
    if row.unmapped:
        extra["unmapped"] = row.unmapped
    return {
        "source_key": source_key,
        "kind": "recall",
        "title": product,
        "products": product,
        "country": config.jurisdiction,
        "country_of_origin": country_code(config, _text(row, "origin"), record=source_key, field="origin"),
        "language": "tr",
        "published_on": date,
        "url": url,
        "category": config.options.get("category"),
        "hazard": hazard,
        "measures_taken": measures,
        "extra": extra,
    }
