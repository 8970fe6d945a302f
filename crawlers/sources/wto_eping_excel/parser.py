"""WTO ePing's Excel workbooks -> TBT/SPS notification items, streamed row by row.

Two workbooks share one column family (headers are matched by name, not position): the
"Export search results" workbook an analyst downloads from the search page (17 columns) and
the daily bulk workbook of every notification since 1995 (``Notification_EN.xlsx``, ~45 MB).

What the real files do, and how it is read:

- The Document symbol cell is a formula, ``HYPERLINK("https://…/Search?viewData= G/TBT/N/BDI/608,
  G/TBT/N/KEN/1808"," G/TBT/N/BDI/608, G/TBT/N/KEN/1808")``, written without a cached value: the
  symbols are read from the formula's label (else its URL's ``viewData``, else the cached value).
- A joint notification (EAC, GCC) is one row per member, each listing every member's symbol:
  each row is keyed by the symbol of its own Notifying Member.
- Texts carry ``_x000D_`` (an escaped carriage return) and non-breaking spaces; HS and ICS codes
  come as ``3210 - Other paints…; 32 - TANNING…``; dates are Excel serial numbers with a date
  style (or ISO text).
- The links to the notification in EN/FR/ES and the notified documents are formulas or text.

A bad row becomes a Rejected naming the source, the row and the column; the rest goes on. A
workbook without the columns we key by raises StructureChanged. The raw payload of a row is
its cells as read (formulas as written), since a worksheet row has no text of its own.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, quote, urlsplit

from crawlers.items import MeasureItem, ParseResult, Rejected
from crawlers.parsers._fields import build, clean_text, country_code
from crawlers.parsers._xlsx import Cell, SheetRow, UnreadableWorkbook, sheet_rows
from crawlers.sources import SourceConfig
from crawlers.symbols import DocumentSymbol, parse_symbols
from tbt_alert.errors import InvalidSymbol, RecordRejected, StructureChanged

_KINDS = {"TBT": "tbt_notification", "SPS": "sps_notification"}
_VIEW_URL = "https://epingalert.org/en/Search"
# Our name for each column, by its header (lower case, single spaces, no space before "(").
COLUMNS = {
    "notifying member": "member",
    "distribution date": "distributed",
    "document symbol": "symbol",
    "title": "title",
    "description": "description",
    "products covered": "products",
    "hs code(s)": "hs",
    "ics code(s)": "ics",
    "objectives": "objectives",
    "keywords": "keywords",
    "specific regions or countries likely to be affected": "regions",
    "final date for comments": "deadline",
    "notification type": "notification_type",
    "notified document": "notified",
    "link to notification(en)": "link_en",
    "link to notification(fr)": "link_fr",
    "link to notification(es)": "link_es",
    "proposed date of entry into force": "entry_into_force",
}
_REQUIRED = ("member", "symbol", "title")
_HEADER_SEARCH_ROWS = 10  # the header is the first row naming "Document symbol" among these
_HYPERLINK = re.compile(r'^\s*=?\s*HYPERLINK\s*\(\s*"((?:[^"]|"")*)"\s*(?:[,;]\s*"((?:[^"]|"")*)"\s*)?\)\s*$', re.I)
_URL = re.compile(r"https?://[^\s,;\"]+")
_LEADING_CODE = re.compile(r"^\s*(\d[\d.\s]*?)\s*(?:[-\u2013:]\s|-?\s*$)")
_OBJECTIVE_SUFFIX = re.compile(r"\s*\((?:TBT|SPS)\)\s*$", re.I)
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel counts a 29 Feb 1900 that never was)
_LAST_SERIAL = 2958465  # 9999-12-31
_EXCEL_CR = "_x000D_"  # when a text escapes the escape (``_x005F_x000D_``) the literal survives unescaping


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    """Items and rejects of a whole workbook held in memory (a crawled or recorded response)."""
    result = ParseResult()
    for outcome in read_workbook(io.BytesIO(body), config):
        result.add(outcome)
    return result


def parse_file(path: Path, url: str | None, config: SourceConfig) -> Iterator[MeasureItem | Rejected]:
    """Items and rejects of a workbook on disk, streamed (the bulk workbook is never held whole)."""
    return read_workbook(path, config)


def read_workbook(workbook: str | Path | IO[bytes], config: SourceConfig) -> Iterator[MeasureItem | Rejected]:
    """Each data row of the workbook's first sheet as an item or a reject, one at a time.

    Raises StructureChanged when the file is not a readable workbook or lacks a needed column.
    """
    rows = _rows(workbook, config.id)
    columns, headers = _header(rows, config.id)
    for row in rows:
        if not row.cells:
            continue
        record = {name: row.cells[index] for index, name in columns.items() if index in row.cells}
        if not any(_shown(cell) for cell in record.values()):
            continue  # a row with empty cells only (formatting left below the table)
        unmapped = {f"column {index + 1}": _shown(cell) for index, cell in row.cells.items() if index not in columns}
        raw = _raw_payload(row, headers)
        symbols = _symbol_text(record.get("symbol"))
        label = _label(symbols, row.number)
        read = functools.partial(_read, config, record, row.number, label, symbols, unmapped)
        yield build(config, label, raw, read)


def _rows(workbook: str | Path | IO[bytes], source: str) -> Iterator[SheetRow]:
    try:
        yield from sheet_rows(workbook)
    except UnreadableWorkbook as exc:
        raise StructureChanged(source, str(exc), field="workbook") from None


def _header(rows: Iterator[SheetRow], source: str) -> tuple[dict[int, str], dict[int, str]]:
    """Column index -> our name (the header itself for a column we do not know), and -> its header."""
    for _ in range(_HEADER_SEARCH_ROWS):
        row = next(rows, None)
        if row is None:
            break
        headers = {i: _header_key(str(_shown(c) or "")) for i, c in row.cells.items()}
        if "document symbol" not in headers.values():
            continue
        columns = {i: COLUMNS.get(h, h) for i, h in headers.items() if h}
        shown = {i: " ".join(str(_shown(row.cells[i])).split()) for i in columns}
        missing = [c for c in _REQUIRED if c not in columns.values()]
        if missing:
            names = {v: k for k, v in COLUMNS.items()}
            raise StructureChanged(
                source,
                f"the header row (row {row.number}) has no {', '.join(repr(names[m]) for m in missing)} column",
                field=names[missing[0]],
            )
        return columns, shown
    raise StructureChanged(
        source,
        f"no header row naming 'Document symbol' in the first {_HEADER_SEARCH_ROWS} rows; "
        "is this an ePing notifications workbook?",
        field="Document symbol",
    )


def _header_key(text: str) -> str:
    return " ".join(text.split()).lower().replace(" (", "(")


def _shown(cell: Cell | None) -> Any:
    """What a cell holds for the raw payload: its formula as written, else its value."""
    if cell is None:
        return None
    if cell.formula is not None:
        return "=" + cell.formula
    value = cell.value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _raw_payload(row: SheetRow, headers: dict[int, str]) -> str:
    cells = {headers.get(index, f"column {index + 1}"): _shown(row.cells[index]) for index in sorted(row.cells)}
    return json.dumps({"row": row.number, "cells": cells}, ensure_ascii=False)


def _label(symbols: str | None, number: int) -> str:
    """The row's name in messages and the quarantine: its (first) symbol when there is one, and the row."""
    first = clean_text(symbols.split(",")[0]) if symbols else None
    return f"{first} (row {number})" if first else f"row {number}"


# ----------------------------------------------------------------------------- one row


def _read(
    config: SourceConfig,
    record: dict[str, Cell],
    number: int,
    label: str,
    symbol_text: str | None,
    unmapped: dict[str, Any],
) -> dict[str, Any]:
    source = config.id
    symbols = _symbols(source, label, symbol_text)
    if not symbols:
        raise RecordRejected(source, "the Document symbol cell is empty", record=label, field="Document symbol")
    member = _text(record.get("member"))
    own = _own_symbol(config, label, symbols, member)
    country = own.country
    if country is None:
        country = country_code(config, member, record=label, field="Notifying Member")
    if country is None:
        raise RecordRejected(
            source, f"no notifying member for symbol {own.symbol}", record=label, field="Notifying Member"
        )
    title = _text(record.get("title"))
    description = _text(record.get("description"))
    notification_type = _text(record.get("notification_type"))
    extra: dict[str, Any] = {"workbook_row": number}
    if title is None:
        # A measure needs a title; an addendum row sometimes has none: say what it is instead.
        title = f"{notification_type or 'Notification'} {own.symbol}"
        extra["title_missing"] = True
    if member:
        extra["notifying_member"] = member
    if len(symbols) > 1:
        extra["joint_symbols"] = [s.symbol for s in symbols]
    if notification_type:
        extra["notification_type"] = notification_type
    regions = _text(record.get("regions"))
    if regions:
        extra["regions_affected"] = regions
    unread: dict[str, str] = {}
    notified = _urls(record.get("notified"), "Notified document", unread)
    if notified:
        extra["notified_documents"] = notified
    if unmapped:
        extra["unmapped"] = unmapped
    for name, value in record.items():
        if name not in COLUMNS.values() and _shown(value) is not None:
            extra.setdefault("unmapped", {})[name] = _shown(value)
    documents = {}
    for lang in ("en", "fr", "es"):
        links = _urls(record.get(f"link_{lang}"), f"Link to notification({lang.upper()})", unread)
        if links:
            documents[lang] = links[0]
    hs_codes = _codes(record.get("hs"), "HS code(s)", _hs, unread)
    ics_codes = _codes(record.get("ics"), "ICS code(s)", _ics, unread)
    if unread:
        extra["unread"] = unread  # cells holding no code or link we could read, kept as they are
    return {
        "source_key": own.symbol,
        "kind": _KINDS[own.domain],
        "title": title,
        "title_en": title,  # Notification_EN and the English export
        "description": description,
        "products": _text(record.get("products")),
        "country": country,
        "document_symbol": own.symbol,
        "parent_key": own.parent,
        "relation": own.relation,
        "hs_codes": hs_codes,
        "ics_codes": ics_codes,
        "objectives": _terms(record.get("objectives"), objectives=True),
        "keywords": _terms(record.get("keywords"), objectives=False),
        "language": "en",
        "distributed_on": _date(source, label, record.get("distributed"), "Distribution date"),
        "comment_deadline": _date(source, label, record.get("deadline"), "Final date for comments"),
        "entry_into_force": _date(source, label, record.get("entry_into_force"), "Proposed date of entry into force"),
        "url": _view_url(record.get("symbol"), own),
        "documents": documents,
        "extra": extra,
    }


def _text(cell: Cell | None) -> str | None:
    if cell is None or cell.value is None or isinstance(cell.value, bool):
        return None
    value = cell.value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return clean_text(value.replace(_EXCEL_CR, "\n"))


def _hyperlink(cell: Cell | None) -> tuple[str, str | None] | None:
    """(target, label) of a ``HYPERLINK`` formula cell, or None."""
    if cell is None or cell.formula is None:
        return None
    match = _HYPERLINK.match(cell.formula)
    if not match:
        return None
    target = match.group(1).replace('""', '"')
    label = match.group(2).replace('""', '"') if match.group(2) is not None else None
    return target, label


def _symbol_text(cell: Cell | None) -> str | None:
    """The symbols a Document symbol cell lists: the link's label, else its viewData, else the value."""
    link = _hyperlink(cell)
    if link is not None:
        target, label = link
        if label and label.strip():
            return label.strip()
        view = dict(parse_qsl(urlsplit(target.strip()).query)).get("viewData")
        if view and view.strip():
            return view.strip()
    return _text(cell)


def _symbols(source: str, label: str, text: str | None) -> list[DocumentSymbol]:
    if not text:
        return []
    try:
        return parse_symbols(text)
    except InvalidSymbol as exc:
        raise RecordRejected(source, str(exc), record=label, field="Document symbol") from None


def _own_symbol(config: SourceConfig, label: str, symbols: list[DocumentSymbol], member: str | None) -> DocumentSymbol:
    """The notifying member's own symbol: a joint notification's row lists every member's."""
    if len(symbols) == 1:
        return symbols[0]
    country = country_code(config, member, record=label, field="Notifying Member") if member else None
    mine = [s for s in symbols if country is not None and s.country == country]
    if len(mine) != 1:
        listed = ", ".join(s.symbol for s in symbols)
        raise RecordRejected(
            config.id,
            f"a joint notification listing {listed}: none (or more than one) is the symbol of the "
            f"notifying member {member!r} ({country or 'unknown country'})",
            record=label,
            field="Document symbol",
        )
    return mine[0]


def _view_url(cell: Cell | None, own: DocumentSymbol) -> str:
    """ePing's page of this row's own symbol, on the host the workbook links to."""
    link = _hyperlink(cell)
    base = _VIEW_URL
    if link is not None:
        parts = urlsplit(link[0].strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return f"{base}?viewData={quote(own.symbol, safe='/')}"


def _urls(cell: Cell | None, field: str, unread: dict[str, str]) -> list[str]:
    """The http(s) links of a link cell (a HYPERLINK formula or text); other text goes to ``unread``."""
    if cell is None:
        return []
    link = _hyperlink(cell)
    if link is not None:
        found = _URL.findall(link[0])
    else:
        text = cell.value if isinstance(cell.value, str) else None
        if text is None:
            return []
        found = _URL.findall(text.replace(_EXCEL_CR, "\n"))
        if not found and text.strip():
            unread[field] = text.strip()  # "Not available", a bare file name: kept, not guessed at
    return list(dict.fromkeys(found))


def _date(source: str, label: str, cell: Cell | None, field: str) -> dt.date | None:
    if cell is None or cell.value is None or cell.value == "":
        return None
    value = cell.value
    if isinstance(value, float) and not isinstance(value, bool):
        if not 1 <= value <= _LAST_SERIAL:
            raise RecordRejected(source, f"{value:g} is not an Excel date", record=label, field=field)
        return _EXCEL_EPOCH + dt.timedelta(days=int(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            pass
        if text.isdigit() and 1 <= int(text) <= _LAST_SERIAL:  # a serial number stored as text
            return _EXCEL_EPOCH + dt.timedelta(days=int(text))
    raise RecordRejected(source, f"{value!r} is not a date", record=label, field=field)


def _hs(code: str) -> str | None:
    digits = re.sub(r"[\s.]", "", code)
    return digits if re.fullmatch(r"\d{2,10}", digits) else None


def _ics(code: str) -> str | None:
    text = re.sub(r"\s", "", code).rstrip(".")
    return text if re.fullmatch(r"\d{2}(\.\d{3}(\.\d{2})?)?", text) else None


def _codes(cell: Cell | None, field: str, normalise: Any, unread: dict[str, str]) -> list[str]:
    """Codes of a ``3210 - Paints…; 32 - TANNING…`` list (or ``3210; 3208``, or one number).

    A cell from which no valid code can be read goes to ``unread`` whole: the notification is
    still worth having, and the text is kept for a person to read.
    """
    text = _text(cell)
    if not text:
        return []
    out: list[str] = []
    bad = False
    for part in text.split(";"):
        if not part.strip():
            continue
        match = _LEADING_CODE.match(part)
        if match is None:
            continue  # the rest of a name that itself holds a ';' ("…; chemical products…")
        code = normalise(match.group(1))
        if code is None:
            bad = True
        else:
            out.append(code)
    if bad or not out:
        unread[field] = text
    return list(dict.fromkeys(out))


def _terms(cell: Cell | None, *, objectives: bool) -> list[str]:
    text = _text(cell)
    if not text:
        return []
    out = []
    for part in text.split(";"):
        term = clean_text(part)
        if term and objectives:
            term = _OBJECTIVE_SUFFIX.sub("", term) or None
        if term:
            out.append(term)
    return list(dict.fromkeys(out))
