"""ePing's Excel workbooks: the streaming sheet reader and the wto_eping_excel parser.

The recorded workbook holds the 32 real rows of ePing's export CSV with constructed symbol and
link formulas (crawlers/sources/wto_eping_excel/construct.py); the odd cases below are built the
same way in tmp_path, from those real rows, changing only the cell a test is about.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from crawlers.items import MeasureItem, Rejected
from crawlers.parsers._xlsx import UnreadableWorkbook, column_index, sheet_rows, unescape
from crawlers.recorded import recorded_dir
from crawlers.sources import load_source
from crawlers.sources.wto_eping_excel import construct
from crawlers.sources.wto_eping_excel.parser import parse, read_workbook
from crawlers.symbols import parse_symbol
from pipeline.cli import main
from tbt_alert.countries import to_alpha3
from tbt_alert.errors import StructureChanged

WORKBOOK = recorded_dir("wto_eping_excel") / "export_search_results_32.xlsx"
CONFIG = load_source("wto_eping_excel")
SYMBOL = construct.HEADERS.index("Document symbol")


@pytest.fixture(scope="module")
def real_rows(shared_data: Path) -> list[dict[str, str]]:
    return construct.real_rows(shared_data / "eping" / "eping_export_sample_32.csv")


def _read(path: Path) -> tuple[list[MeasureItem], list[Rejected]]:
    out = list(read_workbook(path, CONFIG))
    return [o for o in out if isinstance(o, MeasureItem)], [o for o in out if isinstance(o, Rejected)]


def _rows_of(real: list[dict[str, str]]) -> list[list[Any]]:
    return list(construct.constructed_rows(real))


# ------------------------------------------------------------------------ the recorded workbook


def test_all_32_real_rows_parse_each_keyed_by_its_own_members_symbol(real_rows: list[dict[str, str]]) -> None:
    result = parse(WORKBOOK.read_bytes(), CONFIG.base_urls["bulk"], CONFIG)
    assert (len(result.items), len(result.rejected)) == (32, 0)
    assert len({i.source_key for i in result.items}) == 32
    for item, row in zip(result.items, real_rows, strict=True):
        member = row["Notifying Member"]
        assert item.extra["notifying_member"] == member
        assert item.country == to_alpha3(member)
        assert parse_symbol(item.source_key).country == item.country  # its own member's symbol
        assert item.document_symbol == item.source_key
        assert item.title == " ".join(row["Title"].split())
        assert item.url is not None
        assert item.url.endswith(item.source_key)


def test_hs_codes_ics_codes_and_comment_deadlines_where_the_row_has_them(real_rows: list[dict[str, str]]) -> None:
    items, _ = _read(WORKBOOK)
    for item, row in zip(items, real_rows, strict=True):
        hs, ics, deadline = row["HS code(s)"], row["ICS code(s)"], row["Final date for comments"]
        assert bool(item.hs_codes) == bool(hs.strip())
        if hs.strip():
            assert item.hs_codes[0] == hs.split(" - ")[0].strip()
            # every "code - name" entry of the cell, once each
            assert set(item.hs_codes) == set(re.findall(r"(?:^|; )(\d{2,10}) - ", hs))
        assert bool(item.ics_codes) == bool(ics.strip())
        assert item.comment_deadline == (dt.date.fromisoformat(deadline) if deadline else None)
        assert item.distributed_on == dt.date.fromisoformat(row["Distribution date"])
    malawi = items[3]
    assert (malawi.hs_codes, malawi.ics_codes, malawi.comment_deadline) == (["3210"], ["87.040"], dt.date(2025, 8, 9))
    assert items[15].ics_codes == ["67.040", "67.230"]  # listed twice in the cell


def test_addenda_follow_their_notification_and_links_are_read_from_formulas() -> None:
    items, _ = _read(WORKBOOK)
    addendum = next(i for i in items if i.source_key == "G/TBT/N/TPKM/9016/Add.1")
    assert (addendum.parent_key, addendum.relation, addendum.country) == ("G/TBT/N/TPKM/9016", "addendum", "TWN")
    assert addendum.documents["fr"] == "https://docs.wto.org/imrd/directdoc.asp?DDFDocuments/u/G/TBT/NTPKM9016A1.DOCX"
    assert addendum.extra["notified_documents"] == [
        "https://members.wto.org/crnattachments/2025/TBT/TPKM/final_measure/25_03712_00_e.pdf",
        "https://members.wto.org/crnattachments/2025/TBT/TPKM/final_measure/25_03712_00_x.pdf",
    ]
    assert addendum.objectives == ["Consumer information, labelling"]
    raw = json.loads(addendum.raw_payload)
    assert raw["row"] == 17
    assert raw["cells"]["Document symbol"].startswith('=HYPERLINK("https://www.epingalert.org/en/Search?viewData= ')


def test_the_joint_eac_row_is_keyed_by_ugandas_own_symbol_not_the_first() -> None:
    items, _ = _read(WORKBOOK)
    uganda = next(i for i in items if i.extra.get("joint_symbols"))
    assert uganda.source_key == "G/TBT/N/UGA/9014"
    assert uganda.extra["joint_symbols"][0] == "G/TBT/N/BDI/9014"
    assert len(uganda.extra["joint_symbols"]) == 5


def test_escaped_carriage_returns_and_non_breaking_spaces_are_cleaned(real_rows: list[dict[str, str]]) -> None:
    assert any("_x000D_" in v for row in real_rows for v in row.values())  # the real export has them
    assert any("\xa0" in v for row in real_rows for v in row.values())
    items, _ = _read(WORKBOOK)
    for item in items:
        for text in (item.title, item.description, item.products):
            assert text is None or ("_x000D_" not in text and "\xa0" not in text and "\r" not in text)
    assert items[15].products == (
        "Food for human consumption Food products in general (ICS:67.040) Prepackaged and prepared foods (ICS:67.230)"
    )
    assert "from Polandto prevent" in items[0].title


# ------------------------------------------------------------------- the layouts a workbook may have


def test_a_shared_string_workbook_reads_as_the_openpyxl_one(tmp_path: Path, real_rows: list[dict[str, str]]) -> None:
    # ePing writes a shared string table; openpyxl (the recorded workbook) writes inline strings.
    shared = construct.write_shared_strings_workbook(tmp_path / "shared.xlsx", _rows_of(real_rows))
    with zipfile.ZipFile(shared) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
        # the symbol cell is a formula without a cached value, as in ePing's own files
        assert re.search(rb'<c r="C2"><f>HYPERLINK\([^<]*\)</f></c>', archive.read("xl/worksheets/sheet1.xml"))
    a, _ = _read(shared)
    b, _ = _read(WORKBOOK)
    assert [i.model_dump() for i in a] == [i.model_dump() for i in b]


def test_dates_as_serial_numbers_iso_date_cells_and_text(tmp_path: Path, real_rows: list[dict[str, str]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.iso_dates = True  # t="d" cells holding ISO text
    sheet = book.active
    assert sheet is not None
    sheet.append(list(construct.HEADERS))
    rows = _rows_of(real_rows[1:4])
    rows[0][1] = dt.datetime(2025, 6, 10)
    rows[1][1] = "2025-06-11"  # typed as text
    rows[2][1] = 45820  # a bare serial number, no date style
    for values in rows:
        sheet.append(values)
    book.save(tmp_path / "dates.xlsx")
    items, rejected = _read(tmp_path / "dates.xlsx")
    assert not rejected
    assert [i.distributed_on for i in items] == [dt.date(2025, 6, 10), dt.date(2025, 6, 11), dt.date(2025, 6, 12)]
    assert items[0].comment_deadline == dt.date(2025, 8, 9)


def test_a_symbol_cell_with_a_cached_value_or_plain_text(tmp_path: Path, real_rows: list[dict[str, str]]) -> None:
    rows = _rows_of(real_rows[:2])
    rows[0][SYMBOL] = " G/SPS/N/THA/777"  # plain text, as a bulk workbook may hold it
    rows[1][SYMBOL] = '=HYPERLINK("https://eping.wto.org/en/Search?viewData= G/SPS/N/CHN/778")'  # no label
    items, rejected = _read(construct.write_workbook(tmp_path / "cached.xlsx", rows))
    assert not rejected
    assert [i.source_key for i in items] == ["G/SPS/N/THA/777", "G/SPS/N/CHN/778"]
    assert items[1].url == "https://eping.wto.org/en/Search?viewData=G/SPS/N/CHN/778"


def test_every_row_of_a_gcc_joint_notification_is_keyed_by_its_own_symbol(
    tmp_path: Path, real_rows: list[dict[str, str]]
) -> None:
    members = {"Saudi Arabia, Kingdom of": "SAU", "Bahrain, Kingdom of": "BHR", "Kuwait, the State of": "KWT"}
    listed = ", ".join(f"G/TBT/N/{code}/{500 + n}" for n, code in enumerate(members.values()))
    rows = []
    for member in members:
        values = _rows_of(real_rows[3:4])[0]
        values[0] = member
        values[SYMBOL] = construct.hyperlink(f"{construct.VIEW} {listed}", f" {listed}")
        rows.append(values)
    items, rejected = _read(construct.write_shared_strings_workbook(tmp_path / "gcc.xlsx", rows))
    assert not rejected
    assert [(i.source_key, i.country) for i in items] == [
        ("G/TBT/N/SAU/500", "SAU"),
        ("G/TBT/N/BHR/501", "BHR"),
        ("G/TBT/N/KWT/502", "KWT"),
    ]


# ------------------------------------------------------------------------------- bad rows


def test_broken_rows_are_quarantined_naming_source_row_and_field_and_the_rest_goes_on(
    tmp_path: Path, real_rows: list[dict[str, str]]
) -> None:
    rows = _rows_of(real_rows[:6])
    rows[1][SYMBOL] = construct.hyperlink(f"{construct.VIEW} not a symbol", " not a symbol")
    rows[2][1] = "10 June"  # distribution date
    rows[3][SYMBOL] = construct.symbol_formula(["G/TBT/N/KEN/1", "G/TBT/N/RWA/1"])  # Malawi is not listed
    rows[4][SYMBOL] = None
    items, rejected = _read(construct.write_shared_strings_workbook(tmp_path / "broken.xlsx", rows))
    assert [i.source_key for i in items] == ["G/SPS/N/THA/9001", "G/SPS/N/RUS/9006"]
    assert [r.field for r in rejected] == ["Document symbol", "Distribution date", "Document symbol", "Document symbol"]
    for reject, row in zip(rejected, (3, 4, 5, 6), strict=True):
        assert reject.reason.startswith("source wto_eping_excel, record ")
        assert re.search(rf"\brow {row}\b", reject.reason)
        assert json.loads(reject.raw_payload)["row"] == row
    assert "'10 June' is not a date" in rejected[1].reason
    assert "notifying member 'Malawi' (MWI)" in rejected[2].reason
    assert "the Document symbol cell is empty" in rejected[3].reason


def test_code_and_link_cells_we_cannot_read_are_kept_not_rejected(
    tmp_path: Path, real_rows: list[dict[str, str]]
) -> None:
    rows = _rows_of(real_rows[3:5])
    hs, notified = construct.HEADERS.index("HS code(s)"), construct.HEADERS.index("Notified document")
    rows[0][hs] = "n/a"
    rows[0][notified] = "Not available"
    rows[1][hs] = "1 - Live animals; 051199 - Products of animal origin"  # "1" is no HS code
    items, rejected = _read(construct.write_shared_strings_workbook(tmp_path / "odd.xlsx", rows))
    assert not rejected
    assert (items[0].hs_codes, items[0].ics_codes) == ([], ["87.040"])
    assert items[0].extra["unread"] == {"HS code(s)": "n/a", "Notified document": "Not available"}
    assert items[1].hs_codes == ["051199"]
    assert items[1].extra["unread"] == {"HS code(s)": "1 - Live animals; 051199 - Products of animal origin"}


def test_a_file_that_is_not_an_eping_workbook_is_a_structure_change(tmp_path: Path) -> None:
    with pytest.raises(StructureChanged, match="not a zip file"):
        parse(b"<html>", "https://eping.wto.org/x.xlsx", CONFIG)
    other = construct.write_workbook(tmp_path / "other.xlsx", [["x"] * 3], headers=("Member", "Date", "Symbol"))
    with pytest.raises(StructureChanged, match="no header row naming 'Document symbol'"):
        _read(other)
    no_title = construct.write_workbook(
        tmp_path / "no_title.xlsx", [["China", "G/TBT/N/CHN/1"]], headers=("Notifying Member", "Document symbol")
    )
    with pytest.raises(StructureChanged, match="no 'title' column") as info:
        _read(no_title)
    assert info.value.field == "title"


def test_a_part_declaring_a_dtd_is_refused_unread(tmp_path: Path, real_rows: list[dict[str, str]]) -> None:
    good = construct.write_shared_strings_workbook(tmp_path / "good.xlsx", _rows_of(real_rows[:1]))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/sharedStrings.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">]>', 1)
            target.writestr(info, data)
    with pytest.raises(UnreadableWorkbook, match="declares a DTD"):
        list(sheet_rows(bomb))


def test_a_damaged_member_is_a_structure_change_not_a_crash() -> None:
    """A cut or corrupted download: the worksheet's own zip header is broken, the directory is not
    (found by the parser fuzzing, which raised zipfile.BadZipFile out of the parser)."""
    body = bytearray(WORKBOOK.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(body))) as archive:
        offset = archive.getinfo("xl/worksheets/sheet1.xml").header_offset
    body[offset : offset + 4] = b"XXXX"
    with pytest.raises(StructureChanged, match="zip archive is damaged"):
        parse(bytes(body), "https://eping.wto.org/NotificationExcelFiles/Notification_EN.xlsx", CONFIG)


# ------------------------------------------------------------------------------- the reader


def test_reader_helpers() -> None:
    assert [column_index(r) for r in ("A1", "Q230", "AA3", "b7")] == [0, 16, 26, 1]
    assert unescape("a_x000D_b_x005F_x000D_") == "a\rb_x000D_"
    rows = sheet_rows(io.BytesIO(WORKBOOK.read_bytes()))
    header = next(rows)
    assert (header.number, header.cells[2].value) == (1, "Document symbol")
    first = next(rows)
    assert first.cells[2].formula is not None
    assert first.cells[2].formula.startswith("HYPERLINK(")
    assert first.cells[1].value == 45818.0  # 2025-06-10


# ------------------------------------------------------------------------------- the command


def test_parse_command_streams_a_workbook_to_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "wto_eping_excel", str(WORKBOOK)]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert len(lines) == 32
    assert captured.err == ""
    assert lines[13]["source_key"] == "G/TBT/N/UGA/9014"
    assert lines[0]["language"] == "en"


def test_the_recorded_workbook_is_what_construct_builds(real_rows: list[dict[str, str]]) -> None:
    # The fixture holds the real CSV's texts unchanged: rebuilding from the CSV gives the same cells.
    from openpyxl import load_workbook

    sheet = load_workbook(WORKBOOK, read_only=True).worksheets[0]
    stored = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    rebuilt = _rows_of(real_rows)
    for got, want in zip(stored, rebuilt, strict=True):
        want = [v.isoformat() if isinstance(v, dt.date) else v for v in want]
        got = [v.date().isoformat() if isinstance(v, dt.datetime) else v for v in got]
        assert got == want
    with open(construct.SAMPLE_CSV, encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 32
