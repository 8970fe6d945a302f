"""How recorded/export_search_results_32.xlsx was CONSTRUCTED (no real ePing workbook is recorded).

Every row is one of the 32 REAL notifications of ePing's "Export search results" format in
``../shared/data/eping/eping_export_sample_32.csv`` (matthewsnyder263/wto-alert-filter@4650032:
filtered_notifications_example.csv): texts, HS/ICS lists, objectives, keywords, regions, dates,
notification types and notified documents are copied as they are (``_x000D_`` and non-breaking
spaces included). That CSV lost what the real workbook holds as formulas without a cached value
(Document symbol and the three links to the notification), so those cells are CONSTRUCTED:

- Document symbol: ``=HYPERLINK("https://www.epingalert.org/en/Search?viewData= <symbols>"," <symbols>")``
  as the real export writes it, with a made-up symbol ``G/<TBT|SPS>/N/<member code>/<9001 + row>``
  (numbers far above any member's real ones, so nobody takes them for real), ``/Add.1`` when the
  notification type is an addendum. TBT or SPS comes from the objectives' "(TBT)"/"(SPS)", the
  notified document's path, or for the Egypt row its description (which cites G/TBT/N/EGY/2).
- The Uganda TBT row (petroleum jelly, 2025-06-06) lists the symbols of a made-up EAC joint
  notification (Burundi, Kenya, Rwanda, Tanzania, Uganda) so the joint case is exercised.
- Links to the notification (EN/FR/ES): ``HYPERLINK`` formulas to docs.wto.org's directdoc
  address of the made-up symbol, in the pattern of ../shared/data/INDEX.md.
- Dates are written as Excel dates (serial numbers with a date style), as the real file has them.

openpyxl writes inline strings where ePing's workbooks use a shared string table; the reader's
shared-string path is tested on a workbook written part by part (tests/crawlers/test_eping_workbook.py).

Run: ``.venv/bin/python -m crawlers.sources.wto_eping_excel.construct``.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
SAMPLE_CSV = REPO.parent / "shared" / "data" / "eping" / "eping_export_sample_32.csv"
WORKBOOK = HERE / "recorded" / "export_search_results_32.xlsx"
HEADERS = (
    "Notifying Member",
    "Distribution date",
    "Document symbol",
    "Title",
    "Description",
    "Products covered",
    "HS code(s)",
    "ICS code(s)",
    "Objectives",
    "Keywords",
    "Specific regions or countries likely to be affected",
    "Final date for comments",
    "Notification type",
    "Notified document",
    "Link to notification(EN)",
    "Link to notification(FR)",
    "Link to notification(ES)",
)
DATE_COLUMNS = ("Distribution date", "Final date for comments")
VIEW = "https://www.epingalert.org/en/Search?viewData="
DIRECTDOC = "https://docs.wto.org/imrd/directdoc.asp?DDFDocuments/{folder}/G/{domain}/N{member}{number}{add}.DOCX"
# WTO member codes in symbols where they are not the ISO alpha-3 code.
MEMBER_CODES = {
    "China": "CHN",
    "Chinese Taipei": "TPKM",
    "European Union": "EU",
    "Thailand": "THA",
    "Malawi": "MWI",
    "Russian Federation": "RUS",
    "Ukraine": "UKR",
    "Uganda": "UGA",
    "Egypt": "EGY",
    "Chile": "CHL",
    "United States of America": "USA",
    "Colombia": "COL",
}
FIRST_NUMBER = 9001
EAC_MEMBERS = ("BDI", "KEN", "RWA", "TZA", "UGA")


def real_rows(path: Path = SAMPLE_CSV) -> list[dict[str, str]]:
    """The 32 real rows, as ePing exported them (header -> text)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def domain_of(row: dict[str, str]) -> str:
    for domain in ("TBT", "SPS"):
        if f"({domain})" in row["Objectives"] or f"/{domain}/" in row["Notified document"]:
            return domain
    if "G/TBT/N/" in row["Description"]:
        return "TBT"
    raise ValueError(f"cannot tell TBT from SPS for {row['Notifying Member']} {row['Title'][:40]!r}")


def made_up_symbols(row: dict[str, str], number: int) -> list[str]:
    """The constructed symbol(s) of a real row: its member's, or an EAC joint list for Uganda TBT."""
    domain = domain_of(row)
    add = "/Add.1" if "Addendum" in row["Notification type"] else ""
    member = MEMBER_CODES[row["Notifying Member"]]
    if member == "UGA" and domain == "TBT":
        return [f"G/TBT/N/{code}/{number}{add}" for code in EAC_MEMBERS]
    return [f"G/{domain}/N/{member}/{number}{add}"]


def hyperlink(target: str, label: str) -> str:
    quoted = [t.replace('"', '""') for t in (target, label)]
    return f'=HYPERLINK("{quoted[0]}","{quoted[1]}")'


def symbol_formula(symbols: Sequence[str]) -> str:
    listed = ", ".join(symbols)
    return hyperlink(f"{VIEW} {listed}", f" {listed}")


def link_formulas(symbol: str) -> list[str]:
    """EN/FR/ES links of a symbol, in docs.wto.org's directdoc pattern (t/u/v = en/fr/es)."""
    _, domain, _, member, number, *rest = symbol.split("/")
    add = "A" + rest[0].split(".")[1] if rest else ""
    out = []
    for folder in ("t", "u", "v"):
        url = DIRECTDOC.format(folder=folder, domain=domain, member=member, number=number, add=add)
        out.append(hyperlink(url, url))
    return out


def constructed_rows(rows: Iterable[dict[str, str]], first_number: int = FIRST_NUMBER) -> Iterator[list[Any]]:
    """Worksheet rows (values in HEADERS order) of real CSV rows, with constructed symbols and links."""
    for offset, row in enumerate(rows):
        symbols = made_up_symbols(row, first_number + offset)
        own = next(s for s in symbols if f"/{MEMBER_CODES[row['Notifying Member']]}/" in s)
        cells = dict(row)
        cells["Document symbol"] = symbol_formula(symbols)
        cells["Link to notification(EN)"], cells["Link to notification(FR)"], cells["Link to notification(ES)"] = (
            link_formulas(own)
        )
        values: dict[str, Any] = dict(cells)
        for name in DATE_COLUMNS:
            values[name] = dt.date.fromisoformat(row[name]) if row[name] else None
        yield [values[h] if values[h] != "" else None for h in HEADERS]


def write_workbook(path: Path, rows: Iterable[Sequence[Any]], *, headers: Sequence[str] = HEADERS) -> Path:
    """An .xlsx of one sheet "Notifications" (header + rows), written row by row (write-only mode)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    # Fixed document dates, so rebuilding the workbook from the same rows gives the same cells.
    book.properties.created = book.properties.modified = dt.datetime(2026, 12, 7)
    sheet = book.create_sheet("Notifications")
    sheet.append(list(headers))
    for values in rows:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN_NS}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Notifications" sheetId="1" r:id="rId1"/></sheets>'
        '<calcPr fullCalcOnLoad="1"/></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>'
        '<Relationship Id="rId3" Target="sharedStrings.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
        "</Relationships>"
    ),
    # Style 1 shows a number as a date (built-in format 14).
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        "</styleSheet>"
    ),
}
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_shared_strings_workbook(
    path: Path, rows: Iterable[Sequence[Any]], *, headers: Sequence[str] = HEADERS
) -> Path:
    """An .xlsx written part by part the way ePing's workbooks are laid out (not by openpyxl).

    Texts go to a shared string table, formulas are written without a cached value, dates as
    serial numbers with a date style. The sheet is streamed into the zip row by row; the
    table follows it. For the reader's shared-string path and the bulk-size benchmark.
    """
    from xml.sax.saxutils import escape

    index: dict[str, int] = {}

    def cell(ref: str, value: Any) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, dt.date):
            return f'<c r="{ref}" s="1"><v>{(value - _EXCEL_EPOCH).days}</v></c>'
        if isinstance(value, (int, float)):
            return f'<c r="{ref}"><v>{value}</v></c>'
        text = str(value)
        if text.startswith("="):
            return f'<c r="{ref}"><f>{escape(text[1:])}</f></c>'
        number = index.setdefault(text, len(index))
        return f'<c r="{ref}" t="s"><v>{number}</v></c>'

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, body in _PARTS.items():
            archive.writestr(name, _XML_HEAD + body)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}"><sheetData>'.encode())
            for number, values in enumerate(itertools.chain([headers], rows), start=1):
                cells = "".join(cell(f"{_column_letter(i)}{number}", v) for i, v in enumerate(values))
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(f'{_XML_HEAD}<sst xmlns="{_MAIN_NS}" count="{len(index)}" uniqueCount="{len(index)}">'.encode())
            for text in index:  # dicts keep insertion order: entry n is the n-th string
                space = ' xml:space="preserve"' if text != text.strip() else ""
                table.write(f"<si><t{space}>{escape(text)}</t></si>".encode())
            table.write(b"</sst>")
    return path


def main() -> None:
    print(f"wrote {write_workbook(WORKBOOK, constructed_rows(real_rows()))}")


if __name__ == "__main__":
    main()
