"""EAEU technical regulations: the constructed list page, column variants, bad rows, arbitrary input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import load_source
from crawlers.sources.eaeu_eec.parser import designation, parse, russian_date
from tbt_alert.errors import RecordRejected, StructureChanged
from tests.crawlers.recorded import (
    assert_only_documented_errors_on_damage,
    assert_rows_are_items_or_rejects,
    cases,
    meta,
    table_rows,
)

SOURCE = "eaeu_eec"
URL = "https://eec.eaeunion.org/comission/department/deptexreg/tr/TR_general.php"


def page(header: str, rows: str, charset: str = "utf-8") -> bytes:
    return (
        f'<html><head><meta charset="{charset}"></head><body><table><tr>{header}</tr>{rows}</table></body></html>'
    ).encode(charset)


def test_the_page_is_marked_constructed_and_the_source_unverified() -> None:
    assert meta(SOURCE)["constructed"] is True
    assert all(c["constructed"] for c in meta(SOURCE)["cases"])
    assert load_source(SOURCE).verified is False


def test_toys_regulation_applies_to_every_member_state() -> None:
    items = {i["source_key"]: i for i in cases(SOURCE)[0].run()["items"]}
    toys = items["ТР ТС 008/2011"]
    assert toys["title"] == "ТР ТС 008/2011 «О безопасности игрушек»"
    assert (toys["adopted_on"], toys["entry_into_force"]) == ("2011-09-23", "2012-07-01")
    assert toys["country"] is None
    assert toys["extra"]["applies_to"] == ["ARM", "BLR", "KAZ", "KGZ", "RUS"]
    assert items["ТР ЕАЭС 037/2016"]["extra"]["series"] == "ТР ЕАЭС"


def test_raw_payload_is_the_row_as_received() -> None:
    case = cases(SOURCE)[0]
    body = case.body().decode("utf-8")
    for item in case.run()["items"]:
        assert item["raw_payload"].startswith("<tr>")
        assert item["raw_payload"].endswith("</tr>")
        assert item["raw_payload"] in body


@pytest.mark.parametrize(
    ("text", "expected_designation"),
    [
        ("ТР ТС 008/2011", "ТР ТС 008/2011"),
        ("TP TC 017/2011 «О безопасности продукции легкой промышленности»", "ТР ТС 017/2011"),
        ("Технический регламент ТР ЕАЭС 037/2016", "ТР ЕАЭС 037/2016"),
        ("О безопасности игрушек", None),
    ],
)
def test_designations(text: str, expected_designation: str | None) -> None:
    assert designation(text) == expected_designation


def test_russian_dates() -> None:
    assert russian_date("от 9 декабря 2011 г. № 876", source=SOURCE, record="r", field="f") == dt.date(2011, 12, 9)
    assert russian_date("15.02.2013", source=SOURCE, record="r", field="f") == dt.date(2013, 2, 15)
    assert russian_date("Решение № 5", source=SOURCE, record="r", field="f") is None
    with pytest.raises(RecordRejected, match="impossible"):
        russian_date("31.02.2013", source=SOURCE, record="r", field="f")


def test_designation_inside_the_title_column_and_windows_1251() -> None:
    # The Commission's pages have used windows-1251; a title cell may open with the designation.
    body = page(
        "<th>Наименование</th><th>Дата вступления в силу</th><th>Примечание</th>",
        "<tr><td><a href='/docs/tr008.pdf'>ТР ТС 008/2011 «О безопасности игрушек»</a></td>"
        "<td>1 июля 2012 г.</td><td>с изменениями</td></tr>",
        charset="windows-1251",
    )
    [item] = parse(body, URL, load_source(SOURCE)).items
    assert (item.source_key, item.entry_into_force) == ("ТР ТС 008/2011", dt.date(2012, 7, 1))
    assert item.documents == {"ru": "https://eec.eaeunion.org/docs/tr008.pdf"}
    assert item.extra["unmapped"] == {"Примечание": "с изменениями"}


def test_bad_rows_are_quarantined() -> None:
    body = page(
        "<th>Обозначение</th><th>Наименование</th><th>Дата вступления в силу</th>",
        "<tr><td></td><td>«О безопасности чего-то»</td><td>01.07.2012</td></tr>"
        "<tr><td>ТР ТС 099/2011</td><td>«X»</td><td>скоро</td></tr>"
        "<tr><td>ТР ТС 098/2011</td><td></td><td></td></tr>",
    )
    result = parse(body, URL, load_source(SOURCE))
    assert result.items == []
    assert [(r.record_key, r.field) for r in result.rejected] == [
        ("row 1", "number"),
        ("ТР ТС 099/2011", "entry_into_force"),
        ("row 3", "title"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"a": 1}',
        b"<html><body><p>maintenance</p></body></html>",
        page("<th>Колонка</th>", "<tr><td>1</td></tr>"),
        b'<html><meta charset="x-unknown"></html>',
    ],
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_cell = st.text(max_size=20) | st.sampled_from(["ТР ТС 008/2011", "01.07.2012", "32.13.2012", "«О»", "9 мая 2020"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cell, min_size=0, max_size=4), max_size=5))
def test_arbitrary_rows_are_items_or_rejects(rows: list[list[str]]) -> None:
    header = "<th>Обозначение</th><th>Наименование</th><th>Решение о принятии</th><th>Дата вступления в силу</th>"
    assert_rows_are_items_or_rejects(SOURCE, page(header, table_rows(rows)), URL, rows)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.binary(max_size=60))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    assert_only_documented_errors_on_damage(SOURCE, URL, cut, junk)
