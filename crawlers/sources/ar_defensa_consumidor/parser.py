"""Argentina (Defensa del Consumidor): the public sheet of product alerts -> ``recall`` items in Spanish.

The consumer-protection authority keeps its "Alertas de productos" (the recalls firms notify to it:
vehicles above all, also toys, electronics, tools, boats) in a public Google Sheet, read here as the
CSV that Google's visualisation endpoint serves (``gviz/tq?tqx=out:csv``): one header record, then one
record per alert, every field quoted, 26 columns (A-Z) of which the first six are named: category,
alert date, brand (often the firm or the marketplace), product, the defect with its warnings, and
the risks. Fields hold line breaks, so records are split on line breaks outside quotes; each raw
payload is the record exactly as served.

Dates are written year/x/y with two conventions in one column: the older records year/month/day
("2018/04/24"), the 2026 ones year/day/month ("2026/12/06" for 12 June, in a sheet captured on
4 October 2026). A date is therefore read only when one reading is impossible ("2018/04/24",
"2026/04/13"); when both readings are real days, ``published_on`` stays empty and the cell is kept
as written in ``extra['fecha_alerta']`` rather than guessed. (A later copy of the same sheet, read by a
third party, has "2026/27/07" and "2026/19/08" in cells that were empty on 4 October: the 2026 records
are year/day/month, and empty date cells get filled in later.) The sheet has no record number: a record
is keyed by its brand, product and a digest of its defect text; not by its date cell, which changes
when it is filled in, while one brand and product can carry two different recalls.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import re
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
# The named columns every answer must have (the YAML's ``columns`` lookup maps the rest).
_REQUIRED = ("category", "date", "brand", "product", "defect", "risk")


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StructureChanged(config.id, f"the sheet is not UTF-8 ({exc})", field="body") from None
    records = split_records(text)
    if not records:
        raise StructureChanged(config.id, "the answer is empty, not the alerts sheet", field="body")
    try:
        header = _cells(records[0])
    except csv.Error as exc:
        raise StructureChanged(config.id, f"the first record is not CSV ({exc})", field="header") from None
    names = [_column(config, cell) for cell in header]
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise StructureChanged(
            config.id,
            f"the first record is not the alerts sheet's header (no column for {', '.join(missing)}; "
            f"got {header[:6]!r}); compare with crawlers/sources/{config.id}/recorded/",
            field="header",
        )
    result = ParseResult()
    for number, raw in enumerate(records[1:], start=1):
        result.add(
            build(config, f"record {number}", raw, functools.partial(_read, config, names, raw, f"record {number}"))
        )
    return result


def split_records(text: str) -> list[str]:
    """The CSV's records, each exactly as written: split on line breaks outside quoted fields."""
    records: list[str] = []
    start = 0
    quoted = False
    for at, char in enumerate(text):
        if char == '"':
            quoted = not quoted  # a doubled quote flips twice: still inside
        elif char == "\n" and not quoted:
            records.append(text[start:at].removesuffix("\r"))
            start = at + 1
    if start < len(text):
        records.append(text[start:])
    return [record for record in records if record.strip()]


def _cells(record: str) -> list[str]:
    return next(csv.reader([record]), [])


def _column(config: SourceConfig, heading: str) -> str | None:
    text = clean_text(heading)
    if text is None or not config.has_lookup("columns", text):
        return None
    return config.lookup("columns", text)


def alert_date(cell: str | None, *, source: str, record: str) -> dt.date | None:
    """The alert date when the cell allows only one reading; None when empty or when both could be."""
    if cell is None:
        return None
    found = _DATE.match(cell)
    if found is None:
        raise RecordRejected(
            source, f"{cell!r} is not a date written year/month/day or year/day/month", record=record, field="date"
        )
    year, first, second = (int(part) for part in found.groups())
    readings = {_day(year, first, second), _day(year, second, first)} - {None}
    if not readings:
        raise RecordRejected(source, f"{cell!r} is no day in either reading", record=record, field="date")
    return readings.pop() if len(readings) == 1 else None


def _day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _read(config: SourceConfig, names: list[str | None], raw: str, row_key: str) -> dict[str, Any]:
    try:
        cells = _cells(raw)
    except csv.Error as exc:  # a stray quote: this record only, the others are still whole
        raise RecordRejected(config.id, f"the record is not valid CSV ({exc})", record=row_key, field=None) from None
    values: dict[str, str | None] = {}
    unmapped: list[str] = []
    for index, cell in enumerate(cells):
        name = names[index] if index < len(names) else None
        if name is None:
            if clean_text(cell):
                unmapped.append(clean_text(cell) or "")
        else:
            values[name] = clean_text(cell)
    product = values.get("product")
    if product is None:
        raise RecordRejected(config.id, "the product cell is empty", record=row_key, field="product")
    brand = values.get("brand")
    defect = values.get("defect")
    date_cell = values.get("date")
    digest = hashlib.sha256((defect or "").encode()).hexdigest()[:8]
    source_key = " | ".join((brand or "sin marca", product, digest))
    published = alert_date(date_cell, source=config.id, record=source_key)
    category_cell = values.get("category")
    extra: dict[str, Any] = {}
    if category_cell:
        extra["categoria"] = category_cell
    if date_cell and published is None:
        extra["fecha_alerta"] = date_cell  # both readings are days: kept as written, not guessed
    if unmapped:
        extra["unmapped"] = unmapped
    return {
        "source_key": source_key,
        "kind": "recall",
        "title": product,
        "products": product,
        "brand": brand,
        "country": config.jurisdiction,
        "language": "es",
        "published_on": published,
        "url": config.options.get("portal") or config.homepage,
        "category": config.lookup("category", category_cell) if category_cell else None,
        "hazard": defect,
        "risk_type": values.get("risk"),
        "extra": extra,
    }
