"""GCC Standardization Organization: draft Gulf technical regulations for comment -> ``regulation`` items.

GSO publishes the drafts of Gulf technical regulations in their comment phase; the member states
notify each one to the WTO jointly (one TBT notification per member, each listing every member's
symbol). The list is read as an HTML table whose columns are found by their headings (the YAML's
``columns`` lookup): title, description, products, objectives, WTO symbols, distribution date,
final date for comments, links to the notification and the notified text.
UNVERIFIED: no page of GSO's list was ever recorded; the reader follows what GSO documents it
publishes, and its fixture is built from real joint notifications.

A Gulf regulation binds every GSO member, so it has no single ``country``; the members are given in
``extra["applies_to"]`` (YAML ``options.members``), the notifying members in ``extra["notified_by"]``.
The source key is the first member's WTO symbol; a revision (``/Rev.1``) follows up its original.
"""

from __future__ import annotations

import re
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._fields import parse_date
from crawlers.parsers._html_tables import TableRow, parse_table_page
from crawlers.sources import SourceConfig
from crawlers.symbols import parse_symbols
from tbt_alert.errors import InvalidSymbol, RecordRejected

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y")
_ICS_IN_TEXT = re.compile(r"\(\s*ICS(?:\s+code\(s\))?\s*:\s*([^)]*)\)", re.IGNORECASE)
_HS_IN_TEXT = re.compile(r"\(\s*HS(?:\s+code\(s\))?\s*:\s*([^)]*)\)", re.IGNORECASE)
_ICS = re.compile(r"^\d{2}(\.\d{3}(\.\d{2})?)?$")
_OBJECTIVE = re.compile(r"\s*([^,()][^()]*?)\s*\((?:TBT|SPS)\)\s*,?")
# WTO attachment names end in the language of the text: _e English, _f French, _s Spanish.
_ATTACHMENT_LANGUAGE = re.compile(r"_(e|f|s)\.(?:pdf|docx?)$", re.IGNORECASE)
_LANGUAGES = {"e": "en", "f": "fr", "s": "es"}


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    return parse_table_page(body, url, config, required=("title", "symbols"), read=_read)


def _text(row: TableRow, name: str) -> str | None:
    cell = row.values.get(name)
    return cell.text if cell else None


def _links(row: TableRow, name: str) -> list[str]:
    cell = row.values.get(name)
    return list(cell.links) if cell else []


def _read(config: SourceConfig, row: TableRow, key: str, url: str) -> dict[str, Any]:
    title = _text(row, "title")
    if not title:
        raise RecordRejected(config.id, "the title cell is empty", record=key, field="title")
    try:
        symbols = parse_symbols(_text(row, "symbols") or "")
    except InvalidSymbol as exc:
        raise RecordRejected(config.id, str(exc), record=key, field="symbols") from None
    if not symbols:
        raise RecordRejected(config.id, "no WTO notification symbol", record=key, field="symbols")
    first = symbols[0]
    record = first.symbol
    products = _text(row, "products")
    documents: dict[str, str] = {}
    other: list[str] = []
    for link in _links(row, "notified_text"):
        language = _ATTACHMENT_LANGUAGE.search(link)
        if language and _LANGUAGES[language.group(1).lower()] not in documents:
            documents[_LANGUAGES[language.group(1).lower()]] = link
        else:
            other.append(link)
    extra: dict[str, Any] = {
        "wto_symbols": [s.symbol for s in symbols],
        "notified_by": list(dict.fromkeys(s.country for s in symbols if s.country)),
        "applies_to": list(config.options.get("members", [])),
    }
    notification = _links(row, "notification")
    if notification:
        extra["wto_notification"] = notification[0]
    if other:
        extra["other_documents"] = other
    if row.unmapped:
        extra["unmapped"] = row.unmapped
    return {
        "source_key": record,
        "document_symbol": record,
        "parent_key": first.parent,
        "relation": first.relation,
        "kind": "regulation",
        "title": title,
        "title_en": title,
        "description": _text(row, "description"),
        "products": products,
        "country": None,  # the GCC, not one state: see extra["applies_to"]
        "ics_codes": _codes(config, record, products, _ICS_IN_TEXT, "products", ics=True),
        "hs_codes": _codes(config, record, products, _HS_IN_TEXT, "products", ics=False),
        "objectives": _objectives(_text(row, "objectives")),
        "language": "en",
        "distributed_on": _date(config, _text(row, "distributed"), record, "distributed"),
        "comment_deadline": _date(config, _text(row, "comment_deadline"), record, "comment_deadline"),
        "url": notification[0] if notification else url,
        "documents": documents,
        "extra": extra,
    }


def _codes(
    config: SourceConfig, record: str, text: str | None, pattern: re.Pattern[str], field: str, *, ics: bool
) -> list[str]:
    """ICS or HS codes written into the products text: "Road vehicles (ICS code(s): 43.020)"."""
    out: list[str] = []
    for match in pattern.finditer(text or ""):
        for part in re.split(r"[;,\s]+", match.group(1)):
            code = part.strip().rstrip(".") if ics else re.sub(r"\D", "", part)
            if not code:
                continue
            valid = bool(_ICS.match(code)) if ics else 2 <= len(code) <= 10
            if not valid:
                raise RecordRejected(config.id, f"{part!r} is not a valid code", record=record, field=field)
            out.append(code)
    return list(dict.fromkeys(out))


def _objectives(text: str | None) -> list[str]:
    """ "Protection of human health or safety (TBT), Harmonization (TBT)" -> the objectives' names."""
    if not text:
        return []
    found = [m.group(1).strip() for m in _OBJECTIVE.finditer(text)]
    parts = found or [part.strip() for part in text.split(";")]
    return list(dict.fromkeys(p for p in parts if p))


def _date(config: SourceConfig, value: str | None, record: str, field: str) -> Any:
    return parse_date(value, _DATE_FORMATS, source=config.id, record=record, field=field)
