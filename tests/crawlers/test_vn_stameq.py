"""Vietnam QCVN list: the constructed page, numbers, dates, amendments, bad rows, arbitrary input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import load_source
from crawlers.sources.vn_stameq.parser import parse, qcvn_number, vietnamese_date
from tbt_alert.errors import RecordRejected, StructureChanged
from tests.crawlers.recorded import (
    assert_only_documented_errors_on_damage,
    assert_rows_are_items_or_rejects,
    cases,
    meta,
    table_rows,
)

SOURCE = "vn_stameq"
URL = "https://tcvn.gov.vn/quy-chuan-ky-thuat-quoc-gia/"
HEADER = "<th>Số hiệu</th><th>Tên quy chuẩn</th><th>Ngày ban hành</th><th>Ngày hiệu lực</th>"


def page(rows: str, header: str = HEADER) -> bytes:
    return f"<!DOCTYPE html><html><body><table><tr>{header}</tr>{rows}</table></body></html>".encode()


def test_the_page_is_marked_constructed_and_the_source_unverified() -> None:
    assert meta(SOURCE)["constructed"] is True
    assert all(c["constructed"] for c in meta(SOURCE)["cases"])
    assert load_source(SOURCE).verified is False


def test_toy_regulation() -> None:
    items = {i["source_key"]: i for i in cases(SOURCE)[0].run()["items"]}
    toys = items["QCVN 3:2019/BKHCN"]
    assert toys["title"] == "QCVN 3:2019/BKHCN Quy chuẩn kỹ thuật quốc gia về an toàn đồ chơi trẻ em"
    assert (toys["country"], toys["language"], toys["kind"]) == ("VNM", "vi", "regulation")
    assert toys["adopted_on"] is None  # the constructed page gives no dates: none are made up


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("QCVN 3:2019/BKHCN", "QCVN 3:2019/BKHCN"),
        ("qcvn 01 : 2017 / bct", "QCVN 01:2017/BCT"),
        ("Sửa đổi 1:2016 QCVN 4:2009/BKHCN", "QCVN 4:2009/BKHCN"),
        ("TCVN 6238-1:2017", None),
    ],
)
def test_numbers(text: str, number: str | None) -> None:
    found = qcvn_number(text)
    assert (found[0] if found else None) == number


def test_vietnamese_dates() -> None:
    assert vietnamese_date("ngày 5 tháng 3 năm 2020", source=SOURCE, record="r", field="f") == dt.date(2020, 3, 5)
    assert vietnamese_date("05/03/2020", source=SOURCE, record="r", field="f") == dt.date(2020, 3, 5)
    assert vietnamese_date(" ", source=SOURCE, record="r", field="f") is None
    with pytest.raises(RecordRejected, match="not a date"):
        vietnamese_date("sắp tới", source=SOURCE, record="r", field="f")
    with pytest.raises(RecordRejected, match="impossible"):
        vietnamese_date("31/02/2020", source=SOURCE, record="r", field="f")


def test_dates_links_and_amendments() -> None:
    # Inline test rows (invented values, for the parser's logic only).
    rows = (
        "<tr><td><a href='/van-ban/qcvn-99.pdf'>QCVN 99:2030/BKHCN</a></td><td>Quy chuẩn thử</td>"
        "<td>01/02/2030</td><td>ngày 1 tháng 8 năm 2030</td></tr>"
        "<tr><td>Sửa đổi 1:2031 QCVN 99:2030/BKHCN</td><td>Sửa đổi thử</td><td></td><td></td></tr>"
    )
    first, amendment = parse(page(rows), URL, load_source(SOURCE)).items
    assert (first.adopted_on, first.entry_into_force) == (dt.date(2030, 2, 1), dt.date(2030, 8, 1))
    assert first.documents == {"vi": "https://tcvn.gov.vn/van-ban/qcvn-99.pdf"}
    assert (amendment.source_key, amendment.parent_key, amendment.relation) == (
        "QCVN 99:2030/BKHCN Sửa đổi 1:2031",
        "QCVN 99:2030/BKHCN",
        "revision",
    )


def test_bad_rows_are_quarantined() -> None:
    rows = (
        "<tr><td>TCVN 1:2000</td><td>X</td><td></td><td></td></tr>"
        "<tr><td>QCVN 98:2030/BKHCN</td><td></td><td></td><td></td></tr>"
        "<tr><td>QCVN 97:2030/BKHCN</td><td>Y</td><td>hôm qua</td><td></td></tr>"
    )
    result = parse(page(rows), URL, load_source(SOURCE))
    assert result.items == []
    assert [(r.record_key, r.field) for r in result.rejected] == [
        ("row 1", "number"),
        ("QCVN 98:2030/BKHCN", "title"),
        ("QCVN 97:2030/BKHCN", "adopted"),
    ]


@pytest.mark.parametrize(
    "body", [b"", b"{}", b"<html><body></body></html>", page("<tr><td>1</td></tr>", "<th>Tên quy chuẩn</th>")]
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_cell = st.text(max_size=20) | st.sampled_from(["QCVN 3:2019/BKHCN", "26/9/2019", "99/99/2019", "Sửa đổi 1:2016"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cell, max_size=4), max_size=5))
def test_arbitrary_rows_are_items_or_rejects(rows: list[list[str]]) -> None:
    assert_rows_are_items_or_rejects(SOURCE, page(table_rows(rows)), URL, rows)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.binary(max_size=60))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    assert_only_documented_errors_on_damage(SOURCE, URL, cut, junk)
