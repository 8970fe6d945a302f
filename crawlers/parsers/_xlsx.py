"""Reading an .xlsx worksheet as a stream of rows, never the whole sheet in memory.

An .xlsx file is a zip of XML parts. The worksheet part (``xl/worksheets/sheetN.xml``) of
ePing's bulk workbook expands to hundreds of megabytes, so it is read with lxml's
incremental parser, one ``<row>`` at a time, each row dropped once read. Only the shared
string table (``xl/sharedStrings.xml``: the texts that cells point at by number) is held
whole, because any row may point at any entry.

Each cell keeps both what Excel would show (the cached value, or the shared string) and its
formula text: ePing writes document symbols and links as ``HYPERLINK(...)`` formulas with no
cached value, so the formula is the only place they are.

Office parts never carry a DTD; a part that declares one is refused unread (entity-expansion
attacks), as crawled XML is (see ``_xml.py``).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree  # type: ignore[import-untyped]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS = "{" + _MAIN + "}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ROW, _C, _V, _F, _IS, _T, _R, _SI = (_NS + t for t in ("row", "c", "v", "f", "is", "t", "r", "si"))
# OOXML escapes characters XML cannot carry as _xHHHH_ (Excel writes a carriage return as _x000D_).
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_PEEK = 4096
# A workbook we stream is at most a few hundred MB expanded; far beyond that is a zip bomb.
MAX_PART_BYTES = 4 * 1024**3


class UnreadableWorkbook(ValueError):
    """The file is not an .xlsx workbook we can read (not a zip, a part missing, a DTD, bad XML)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: ``value`` as Excel would show it (text, number, bool, ISO date text) and its formula.

    ``kind`` is the cell's ``t`` attribute: ``n`` number (dates are numbers with a date style),
    ``s`` shared string, ``str`` a formula's text result, ``inlineStr``, ``b``, ``e`` error, ``d`` ISO date.
    """

    value: str | float | bool | None
    formula: str | None = None
    kind: str = "n"


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One worksheet row: its number as Excel shows it (1 = the first) and its cells by column (0 = A)."""

    number: int
    cells: dict[int, Cell]


# What zipfile, zlib and the decompressors raise on a damaged member (EOFError: cut short;
# NotImplementedError: an unknown compression method; RuntimeError: an encrypted member).
_DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)


def unescape(text: str) -> str:
    """Text with OOXML ``_xHHHH_`` escapes decoded (``_x000D_`` -> carriage return, ``_x005F_`` -> ``_``)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def column_index(reference: str) -> int:
    """0-based column of a cell reference: ``A1`` -> 0, ``Q230`` -> 16, ``AA3`` -> 26."""
    index = 0
    for char in reference:
        if "A" <= char <= "Z":
            index = index * 26 + (ord(char) - 64)
        elif "a" <= char <= "z":
            index = index * 26 + (ord(char) - 96)
        else:
            break
    return index - 1


def sheet_rows(workbook: str | Path | IO[bytes], *, sheet: int = 0) -> Iterator[SheetRow]:
    """Every row of the ``sheet``-th worksheet (0 = the first), in file order, one at a time.

    ``workbook`` is a path or a seekable binary file. Raises :class:`UnreadableWorkbook`.
    """
    try:
        archive = zipfile.ZipFile(workbook)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableWorkbook(f"not an .xlsx workbook (not a zip file: {exc})") from None
    try:
        with archive:
            names = set(archive.namelist())
            part = _sheet_part(archive, names, sheet)
            shared = _shared_strings(archive, names)
            with _open_part(archive, part) as stream:
                yield from _rows(stream, shared, part)
    except _DAMAGED_ZIP as exc:
        # A member whose header, compressed data or checksum is damaged (a cut download, a
        # corrupted file) surfaces only when it is read.
        raise UnreadableWorkbook(f"the workbook's zip archive is damaged ({type(exc).__name__}: {exc})") from None


def _sheet_part(archive: zipfile.ZipFile, names: set[str], sheet: int) -> str:
    """The zip member of the sheet-th worksheet, found through the workbook and its relationships."""
    if "xl/workbook.xml" not in names:
        raise UnreadableWorkbook("not an .xlsx workbook: it has no xl/workbook.xml")
    book = _read_small(archive, "xl/workbook.xml")
    sheets = book.findall(f"{_NS}sheets/{_NS}sheet")
    if sheet >= len(sheets):
        raise UnreadableWorkbook(f"the workbook has {len(sheets)} worksheet(s), no worksheet number {sheet + 1}")
    rel_id = sheets[sheet].get(_REL + "id")
    target = None
    if "xl/_rels/workbook.xml.rels" in names and rel_id:
        rels = _read_small(archive, "xl/_rels/workbook.xml.rels")
        for rel in rels.iter(_PKG_REL + "Relationship"):
            if rel.get("Id") == rel_id:
                target = rel.get("Target")
    if target is None:  # no relationships: the conventional name
        target = f"worksheets/sheet{sheet + 1}.xml"
    part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    if part not in names:
        raise UnreadableWorkbook(f"the workbook names worksheet part {part}, which is not in the file")
    return part


def _open_part(archive: zipfile.ZipFile, name: str) -> IO[bytes]:
    info = archive.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise UnreadableWorkbook(f"{name} expands to {info.file_size} bytes, more than any workbook we read")
    with archive.open(name) as peek:
        head = peek.read(_PEEK)
    if any(mark in head for mark in _DECLARATIONS):
        raise UnreadableWorkbook(f"{name} declares a DTD or entities, which no Office part does; refused unread")
    return archive.open(name)


def _parser_options() -> dict[str, Any]:
    # No DTD, no entity expansion, no network: a workbook is untrusted input.
    return {"resolve_entities": False, "no_network": True, "load_dtd": False}


def _read_small(archive: zipfile.ZipFile, name: str) -> Any:
    with _open_part(archive, name) as stream:
        try:
            return etree.parse(stream, etree.XMLParser(**_parser_options())).getroot()
        except etree.XMLSyntaxError as exc:
            raise UnreadableWorkbook(f"{name} is not well-formed XML ({exc})") from None


def _shared_strings(archive: zipfile.ZipFile, names: set[str]) -> list[str]:
    """The shared string table; each entry's plain text (rich-text runs joined, phonetic hints left out)."""
    name = next((n for n in ("xl/sharedStrings.xml", "xl/sharedstrings.xml") if n in names), None)
    if name is None:
        return []
    strings: list[str] = []
    with _open_part(archive, name) as stream:
        try:
            for _, si in etree.iterparse(stream, events=("end",), tag=_SI, **_parser_options()):
                strings.append(unescape(_string_item(si)))
                si.clear(keep_tail=False)
                while si.getprevious() is not None:
                    del si.getparent()[0]
        except etree.XMLSyntaxError as exc:
            raise UnreadableWorkbook(f"{name} is not well-formed XML ({exc})") from None
    return strings


def _string_item(item: Any) -> str:
    """The text of an ``<si>`` or ``<is>``: its ``<t>``, or its runs' ``<t>``s (not ``<rPh>`` hints)."""
    if len(item) == 1 and item[0].tag == _T:  # the common case, a plain text
        return item[0].text or ""
    parts = []
    for child in item:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _R:
            for t in child.iter(_T):
                parts.append(t.text or "")
    return "".join(parts)


def _rows(stream: IO[bytes], shared: list[str], part: str) -> Iterator[SheetRow]:
    try:
        for _, row in etree.iterparse(stream, events=("end",), tag=_ROW, **_parser_options()):
            number_text = row.get("r")
            cells: dict[int, Cell] = {}
            position = 0
            for c in row.iterchildren(_C):
                ref = c.get("r")
                position = column_index(ref) if ref else position
                cell = _cell(c, shared, part, ref)
                if cell is not None:
                    cells[position] = cell
                position += 1
            number = int(number_text) if number_text and number_text.isdigit() else 0
            yield SheetRow(number, cells)
            # Drop what was read: the row, and the rows before it the tree still holds.
            row.clear(keep_tail=False)
            while row.getprevious() is not None:
                del row.getparent()[0]
    except etree.XMLSyntaxError as exc:
        raise UnreadableWorkbook(f"{part} is not well-formed XML ({exc})") from None


def _cell(c: Any, shared: list[str], part: str, ref: str | None) -> Cell | None:
    kind = c.get("t") or "n"
    raw: str | None = None
    formula: str | None = None
    inline: Any = None
    for child in c:
        tag = child.tag
        if tag == _V:
            raw = child.text
        elif tag == _F:
            formula = child.text
        elif tag == _IS:
            inline = child
    value: str | float | bool | None
    if kind == "s":
        if raw is None:
            value = None
        else:
            try:
                value = shared[int(raw)]
            except (ValueError, IndexError):
                raise UnreadableWorkbook(
                    f"{part}: cell {ref} points at shared string {raw!r}, which the table does not have"
                ) from None
    elif kind == "inlineStr":
        value = unescape(_string_item(inline)) if inline is not None else None
    elif kind in ("str", "e", "d"):
        value = unescape(raw) if raw is not None else None
    elif kind == "b":
        value = raw == "1" if raw is not None else None
    else:
        try:
            value = float(raw) if raw is not None and raw.strip() else None
        except ValueError:
            raise UnreadableWorkbook(f"{part}: cell {ref} holds {raw!r}, which is not a number") from None
    if value is None and formula is None:
        return None
    return Cell(value, formula, kind)
