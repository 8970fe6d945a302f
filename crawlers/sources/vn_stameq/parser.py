"""Vietnam (STAMEQ): national technical regulations, QCVN -> ``regulation`` items.

A QCVN (quy chuẩn kỹ thuật quốc gia) is mandatory: products it covers may not be sold in Vietnam
without conformity to it. STAMEQ (Tổng cục Tiêu chuẩn Đo lường Chất lượng, Ministry of Science and
Technology) lists them in a Vietnamese HTML table: number (``QCVN 3:2019/BKHCN``: number, year,
issuing ministry), title, issuing body and document, dates of issue and of entry into force. Columns
are found by their headings (the YAML's ``columns`` lookup). An amendment (``Sửa đổi 1:2016 QCVN
4:2009/BKHCN``) follows up its regulation. UNVERIFIED: no page of the list was ever recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._html_tables import TableRow, parse_table_page
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected

_QCVN = re.compile(
    r"QCVN\s*(?P<number>\d{1,3}(?:-\d{1,3})?)\s*:\s*(?P<year>\d{4})\s*/\s*(?P<body>[A-ZĐ]{2,10})", re.IGNORECASE
)
_AMENDMENT = re.compile(r"Sửa\s+đổi\s+(\d{1,2})\s*:\s*(\d{4})", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\b")
_WORDED_DATE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    return parse_table_page(body, url, config, required=("number", "title"), read=_read)


def qcvn_number(text: str) -> tuple[str, str] | None:
    """``("QCVN 3:2019/BKHCN", "BKHCN")`` for the first QCVN number in ``text``, if any."""
    match = _QCVN.search(text)
    if match is None:
        return None
    body = match.group("body").upper()
    return f"QCVN {match.group('number')}:{match.group('year')}/{body}", body


def vietnamese_date(text: str | None, *, source: str, record: str, field: str) -> dt.date | None:
    """``26/9/2019`` or ``ngày 26 tháng 9 năm 2019`` (day first); empty -> None; anything else rejects."""
    if not text or not text.strip():
        return None
    match = _WORDED_DATE.search(text) or _NUMERIC_DATE.search(text)
    if match is None:
        raise RecordRejected(source, f"{text!r} is not a date", record=record, field=field)
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise RecordRejected(source, f"{text!r} is an impossible date", record=record, field=field) from None


def _text(row: TableRow, name: str) -> str | None:
    cell = row.values.get(name)
    return cell.text if cell else None


def _read(config: SourceConfig, row: TableRow, key: str, url: str) -> dict[str, Any]:
    number_text = _text(row, "number") or ""
    found = qcvn_number(number_text)
    if found is None:
        raise RecordRejected(config.id, "no number like QCVN 3:2019/BKHCN", record=key, field="number")
    number, ministry = found
    title = _text(row, "title")
    if not title:
        raise RecordRejected(config.id, "the title cell is empty", record=number, field="title")
    source_key, parent, relation = number, None, None
    amendment = _AMENDMENT.search(number_text)
    if amendment:
        source_key = f"{number} Sửa đổi {amendment.group(1)}:{amendment.group(2)}"
        parent, relation = number, "revision"
    links = [link for name in ("number", "title") for link in (row.values[name].links if name in row.values else [])]
    extra: dict[str, Any] = {"issuing_ministry_code": ministry}
    for name in ("issuing_body", "issuing_document"):
        value = _text(row, name)
        if value:
            extra[name] = value
    if row.unmapped:
        extra["unmapped"] = row.unmapped
    return {
        "source_key": source_key,
        "document_symbol": source_key,
        "parent_key": parent,
        "relation": relation,
        "kind": "regulation",
        "title": title if qcvn_number(title) else f"{source_key} {title}",
        "country": config.jurisdiction,
        "language": "vi",
        "adopted_on": vietnamese_date(_text(row, "adopted"), source=config.id, record=source_key, field="adopted"),
        "entry_into_force": vietnamese_date(
            _text(row, "entry_into_force"), source=config.id, record=source_key, field="entry_into_force"
        ),
        "url": links[0] if links else url,
        "documents": {"vi": links[0]} if links else {},
        "extra": extra,
    }
