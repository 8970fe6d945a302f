"""Eurasian Economic Commission: the technical regulations of the Customs Union / EAEU -> ``regulation`` items.

The Commission lists the union's technical regulations (ТР ТС NNN/YYYY of the Customs Union, ТР ЕАЭС
NNN/YYYY of the Eurasian Economic Union) in a Russian HTML table: designation, title, the decision
that adopted it and the date it entered into force. Columns are found by their headings (the
``columns`` lookup of the YAML); the designation may stand in its own column or open the title.
UNVERIFIED: no page of the list was ever recorded, the reader follows the list's documented content.

A regulation of the union binds every member state, so it has no single ``country``; the members
are given in ``extra["applies_to"]`` (YAML ``options.members``) for matching by country.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._html_tables import Cell, TableRow, parse_table_page
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected

# Designations are typed with Latin look-alikes often enough (TP TC) to accept them.
_DESIGNATION = re.compile(
    r"[ТT]\s*[РP]\s*(?P<series>[ТT]\s*[СC]|ЕАЭС|EAЭС|ЕАЕС)\s*(?P<number>\d{3})\s*/\s*(?P<year>\d{4})", re.IGNORECASE
)
_MONTHS = {
    "января": 1,
    "февраля": 2,
    "марта": 3,
    "апреля": 4,
    "мая": 5,
    "июня": 6,
    "июля": 7,
    "августа": 8,
    "сентября": 9,
    "октября": 10,
    "ноября": 11,
    "декабря": 12,
}
_WORD_DATE = re.compile(r"(\d{1,2})\s+([а-яё]+)\s+(\d{4})", re.IGNORECASE)
_DOT_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_DECISION_NO = re.compile(r"№\s*(\d+)")
_QUOTES = '«»"“”„'


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    return parse_table_page(body, url, config, required=("title",), read=_read)


def designation(text: str) -> str | None:
    """The canonical designation (``ТР ТС 008/2011``, ``ТР ЕАЭС 037/2016``) in ``text``, if any."""
    match = _DESIGNATION.search(text)
    if match is None:
        return None
    series = "ТР ТС" if re.sub(r"\s", "", match.group("series")).upper() in ("ТС", "TC", "ТC", "TС") else "ТР ЕАЭС"
    return f"{series} {match.group('number')}/{match.group('year')}"


def russian_date(text: str | None, *, source: str, record: str, field: str) -> dt.date | None:
    """``01.07.2012`` or ``23 сентября 2011 г.`` in ``text``; empty -> None; an impossible date rejects."""
    if not text:
        return None
    try:
        dotted = _DOT_DATE.search(text)
        if dotted:
            day, month, year = (int(g) for g in dotted.groups())
            return dt.date(year, month, day)
        worded = _WORD_DATE.search(text)
        if worded and worded.group(2).lower() in _MONTHS:
            return dt.date(int(worded.group(3)), _MONTHS[worded.group(2).lower()], int(worded.group(1)))
    except ValueError:
        raise RecordRejected(source, f"{text!r} holds an impossible date", record=record, field=field) from None
    return None


def _text(row: TableRow, name: str) -> str | None:
    cell: Cell | None = row.values.get(name)
    return cell.text if cell else None


def _read(config: SourceConfig, row: TableRow, key: str, url: str) -> dict[str, Any]:
    title_text = _text(row, "title")
    if not title_text:
        raise RecordRejected(config.id, "the title cell is empty", record=key, field="title")
    number = designation(_text(row, "number") or "") or designation(title_text)
    if number is None:
        raise RecordRejected(
            config.id, "no designation like ТР ТС 008/2011 in the number or title column", record=key, field="number"
        )
    title = " ".join(title_text.split())
    if designation(title) is None:
        bare = title.strip(_QUOTES + " ")
        title = f"{number} «{bare}»"
    act = _text(row, "adoption_act")
    in_force_text = _text(row, "entry_into_force")
    in_force = russian_date(in_force_text, source=config.id, record=number, field="entry_into_force")
    if in_force_text and in_force is None:
        raise RecordRejected(config.id, f"{in_force_text!r} is not a date", record=number, field="entry_into_force")
    links = [link for name in ("number", "title") for link in (row.values[name].links if name in row.values else [])]
    extra: dict[str, Any] = {
        "union": "EAEU",
        "series": number.rsplit(" ", 1)[0],
        "applies_to": list(config.options.get("members", [])),
    }
    if act:
        extra["adoption_act"] = act
        decision = _DECISION_NO.search(act)
        if decision:
            extra["adoption_decision_no"] = decision.group(1)
    if row.unmapped:
        extra["unmapped"] = row.unmapped
    return {
        "source_key": number,
        "document_symbol": number,
        "kind": "regulation",
        "title": title,
        "country": None,  # the union, not one state: see extra["applies_to"]
        "language": "ru",
        "adopted_on": russian_date(act, source=config.id, record=number, field="adoption_act"),
        "entry_into_force": in_force,
        "url": links[0] if links else url,
        "documents": {"ru": links[0]} if links else {},
        "extra": extra,
    }
