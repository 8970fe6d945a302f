"""HTML tables of regulation lists read into rows keyed by their column headers, each with its raw HTML.

Regulators publish their lists of technical regulations as HTML tables. A source's parser maps
the header texts to our fields through its YAML's ``columns`` lookup (so a renamed column is fixed
in the YAML, where it is visible) and gets, per row, the text and links of each cell and the row's
markup exactly as received (cut out of the page, not re-serialised) for the raw payload.

Only the stdlib HTML tokenizer is used: it reports where each tag starts, which is what cutting a
row out of the page needs; it never raises on bad markup.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text
from crawlers.sources import SourceConfig
from crawlers.urls import web_url_problem
from tbt_alert.errors import StructureChanged

_BLOCK_BREAK = frozenset({"br", "p", "div", "li"})
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)
_HTML_START = ("<!doctype", "<html", "<table", "<body", "<head", "<!--", "<?xml")


@dataclass
class Cell:
    header: bool  # a <th>
    text: str | None = None
    links: list[str] = field(default_factory=list)  # absolute hrefs, in order
    parts: list[str] = field(default_factory=list)


@dataclass
class Row:
    start: int
    end: int | None = None
    cells: list[Cell] = field(default_factory=list)
    in_head: bool = False


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class TableRow:
    """One body row: cell by our field name, unmapped cells by header, the row's HTML as received."""

    index: int  # 1-based position among the table's body rows
    values: dict[str, Cell]
    unmapped: dict[str, str]
    raw: str


class _Reader(HTMLParser):
    def __init__(self, page: str, base_url: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.base_url = base_url
        self.tables: list[Table] = []
        self._open: list[Table] = []  # nested tables: rows go to the innermost
        self._row: list[Row | None] = []
        self._cell: list[Cell | None] = []
        self._in_head = False
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", page)]

    def run(self) -> list[Table]:
        self.feed(self.page)
        self.close()
        while self._open:  # tables left open end with the page
            self._close_row(len(self.page))
            self._pop_table()
        return self.tables

    def _add_link(self, cell: Cell, href: str) -> None:
        # An allow-list: only http(s) targets are links (no javascript:, data:, mailto: or #anchors,
        # whatever their case); the item check would quarantine the whole row for one of them.
        if href.strip().startswith("#"):
            return  # a link within the page
        target = urljoin(self.base_url, href.strip())
        if web_url_problem(target) is None:
            cell.links.append(target)

    def _offset(self) -> int:
        """Where the tag being handled starts in the page (getpos counts lines and columns)."""
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _after_tag(self) -> int:
        end = self.page.find(">", self._offset())
        return len(self.page) if end < 0 else end + 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            table = Table()
            self.tables.append(table)
            self._open.append(table)
            self._row.append(None)
            self._cell.append(None)
        elif not self._open:
            return
        elif tag == "thead":
            self._in_head = True
        elif tag in ("tbody", "tfoot"):
            self._in_head = False
        elif tag == "tr":
            self._close_row(self._offset())
            self._start_row()
        elif tag in ("td", "th"):
            self._close_cell()
            row = self._row[-1] or self._start_row()  # a cell outside any <tr>: browsers open a row
            cell = Cell(header=tag == "th")
            row.cells.append(cell)
            self._cell[-1] = cell
        elif tag == "a":
            current = self._cell[-1]
            href = dict(attrs).get("href")
            if current is not None and href:
                self._add_link(current, href)
        elif tag in _BLOCK_BREAK and self._cell[-1] is not None:
            self._cell[-1].parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if not self._open:
            return
        if tag == "table":
            self._close_row(self._offset())
            self._pop_table()
        elif tag == "tr":
            self._close_row(self._after_tag())
        elif tag in ("td", "th"):
            self._close_cell()
        elif tag == "thead":
            self._in_head = False

    def handle_data(self, data: str) -> None:
        if self._open and self._cell[-1] is not None:
            self._cell[-1].parts.append(data)

    def _start_row(self) -> Row:
        row = Row(start=self._offset(), in_head=self._in_head)
        self._open[-1].rows.append(row)
        self._row[-1] = row
        return row

    def _pop_table(self) -> None:
        self._open.pop()
        self._row.pop()
        self._cell.pop()

    def _close_cell(self) -> None:
        cell = self._cell[-1] if self._cell else None
        if cell is not None:
            lines = [clean_text(line) for line in "".join(cell.parts).split("\n")]
            cell.text = "\n".join(line for line in lines if line) or None
            self._cell[-1] = None

    def _close_row(self, end: int) -> None:
        if not self._open:
            return
        self._close_cell()
        row = self._row[-1]
        if row is not None:
            row.end = end
            self._row[-1] = None


def decode_page(body: bytes, source: str) -> str:
    """The page as text, in the charset its ``<meta>`` declares (UTF-8 when none); not HTML -> StructureChanged.

    Regulators of the former Soviet Union still serve windows-1251 pages, so the declared charset
    is honoured rather than assumed.
    """
    declared = _CHARSET.search(body[:4096])
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8-sig"
    try:
        text = body.decode("utf-8-sig" if encoding in ("utf-8", "utf8") else encoding)
    except LookupError:
        raise StructureChanged(source, f"the page declares an unknown charset {encoding!r}", field="body") from None
    except UnicodeDecodeError:
        raise StructureChanged(source, f"the page is not valid {encoding} text", field="body") from None
    if not text.lstrip()[:200].lower().startswith(_HTML_START):
        raise StructureChanged(source, "the response is not an HTML page", field="body")
    return text


def read_tables(page: str, base_url: str) -> list[Table]:
    """Every table of the page (nested ones too), rows in order."""
    return _Reader(page, base_url).run()


def _header_key(text: str | None) -> str:
    return " ".join((text or "").split()).rstrip(":").strip()


def mapped_rows(config: SourceConfig, page: str, base_url: str, *, required: tuple[str, ...]) -> list[TableRow]:
    """The body rows of the first table whose header row names every ``required`` field.

    Header texts are mapped to our field names by the YAML lookup ``columns``; a header the
    lookup does not list is kept by its text in ``unmapped`` so nothing is lost. No table with the
    required columns means the page changed shape (StructureChanged naming the first one missing).
    """
    columns = config.lookups.get("columns", {})
    best_missing: tuple[str, ...] = required
    for table in read_tables(page, base_url):
        header, body = _split_header(table)
        if header is None:
            continue
        names = [columns.get(_header_key(c.text)) or None for c in header.cells]
        missing = tuple(name for name in required if name not in names)
        if missing:
            if len(missing) < len(best_missing):
                best_missing = missing
            continue
        labels = [_header_key(c.text) for c in header.cells]
        out = []
        for index, row in enumerate(body, start=1):
            if not any(c.text or c.links for c in row.cells):
                continue  # spacer rows
            values: dict[str, Cell] = {}
            unmapped: dict[str, str] = {}
            for position, cell in enumerate(row.cells):
                name = names[position] if position < len(names) else None
                if name:
                    values.setdefault(name, cell)
                elif cell.text:
                    label = labels[position] if position < len(labels) else ""
                    unmapped[label or f"column {position + 1}"] = cell.text
            out.append(TableRow(index, values, unmapped, page[row.start : row.end or len(page)]))
        return out
    raise StructureChanged(
        config.id,
        f"no table with the column for {best_missing[0]!r} (headers are mapped in the 'columns' lookup of "
        f"crawlers/sources/{config.id}/{config.id}.yml)",
        field=best_missing[0],
    )


# Reads one row's fields: (config, row, record key, page URL) -> MeasureItem fields.
RowReader = Callable[[SourceConfig, "TableRow", str, str], dict[str, Any]]


def parse_table_page(
    body: bytes, url: str, config: SourceConfig, *, required: tuple[str, ...], read: RowReader
) -> ParseResult:
    """The whole parser of a source that publishes one HTML table: each row an item or a reject."""
    page = decode_page(body, config.id)
    result = ParseResult()
    for row in mapped_rows(config, page, url, required=required):
        key = f"row {row.index}"
        result.add(build(config, key, row.raw, functools.partial(read, config, row, key, url)))
    return result


def _split_header(table: Table) -> tuple[Row | None, list[Row]]:
    """The header row (in <thead>, or the first row of <th> cells) and the rows after it."""
    for position, row in enumerate(table.rows):
        if not row.cells:
            continue
        if row.in_head or all(c.header for c in row.cells):
            body = [r for r in table.rows[position + 1 :] if not r.in_head and r.cells]
            return row, body
        return None, []
    return None, []
