"""GSO draft Gulf technical regulations: the constructed page of real joint notifications, bad rows, arbitrary input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import load_source
from crawlers.sources.gcc_gso.parser import parse
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import (
    assert_only_documented_errors_on_damage,
    assert_rows_are_items_or_rejects,
    cases,
    meta,
    table_rows,
)

SOURCE = "gcc_gso"
URL = "https://www.gso.org.sa/en/standards/technical-regulations/"
HEADER = "<th>Title</th><th>WTO notifications</th><th>Date of distribution</th><th>Final date for comments</th>"


def page(rows: str, header: str = HEADER) -> bytes:
    return f"<!DOCTYPE html><html><body><table><tr>{header}</tr>{rows}</table></body></html>".encode()


def test_the_page_is_marked_constructed_and_the_source_unverified() -> None:
    assert meta(SOURCE)["constructed"] is True
    assert all(c["constructed"] for c in meta(SOURCE)["cases"])
    assert load_source(SOURCE).verified is False


def test_values_are_those_of_the_real_notifications(shared_data: Path) -> None:
    # Each row's values must be a real joint notification's, never a machine-written note.
    recorded = shared_data / "eping" / "gcc_tbt_notifications_normalized.json"
    entries = json.loads(recorded.read_text(encoding="utf-8"))["eping_gcc_43020"]["entries"]
    by_symbols = {e["meta"]["Document symbol(s)"]: e for e in entries}
    for item in cases(SOURCE)[0].run()["items"]:
        entry = by_symbols[", ".join(item["extra"]["wto_symbols"])]
        assert item["title"] == entry["title"]
        assert item["description"] == entry["summary"]
        assert item["distributed_on"] == entry["meta"]["Distribution date"]
        assert item["comment_deadline"] == entry["meta"]["Comment deadline"]
        assert item["description"] != entry["note"]


def test_a_gulf_regulation_applies_to_every_member_and_revisions_follow_up() -> None:
    items = {i["source_key"]: i for i in cases(SOURCE)[0].run()["items"]}
    ecall = items["G/TBT/N/ARE/703"]
    assert ecall["country"] is None
    assert ecall["extra"]["applies_to"] == ["ARE", "BHR", "KWT", "OMN", "QAT", "SAU", "YEM"]
    assert ecall["extra"]["notified_by"] == ["ARE", "BHR", "KWT", "OMN", "QAT", "SAU", "YEM"]
    assert (ecall["ics_codes"], ecall["comment_deadline"]) == (["43.020"], "2026-08-01")
    tpms = items["G/TBT/N/ARE/378/Rev.1"]
    assert (tpms["parent_key"], tpms["relation"]) == ("G/TBT/N/ARE/378", "revision")
    assert "G/TBT/N/ARE/378" in items


def test_other_date_formats_and_unmapped_columns() -> None:
    header = HEADER + "<th>Status</th>"
    body = page(
        "<tr><td>Draft X</td><td>G/TBT/N/SAU/1437</td><td>02/06/2026</td><td>1 August 2026</td><td>open</td></tr>",
        header,
    )
    [item] = parse(body, URL, load_source(SOURCE)).items
    assert (item.distributed_on, item.comment_deadline) == (dt.date(2026, 6, 2), dt.date(2026, 8, 1))
    assert item.extra["unmapped"] == {"Status": "open"}
    assert item.url == URL  # no notification link on the row


def test_bad_rows_are_quarantined() -> None:
    rows = (
        "<tr><td>A</td><td>not a symbol</td><td></td><td></td></tr>"
        "<tr><td>B</td><td></td><td></td><td></td></tr>"
        "<tr><td>C</td><td>G/TBT/N/SAU/1</td><td>2026-13-01</td><td></td></tr>"
        "<tr><td></td><td>G/TBT/N/SAU/2</td><td></td><td></td></tr>"
    )
    result = parse(page(rows), URL, load_source(SOURCE))
    assert result.items == []
    assert [(r.record_key, r.field) for r in result.rejected] == [
        ("row 1", "symbols"),
        ("row 2", "symbols"),
        ("G/TBT/N/SAU/1", "distributed"),
        ("row 4", "title"),
    ]


@pytest.mark.parametrize(
    "body", [b"", b"[]", b"<html><body>no table</body></html>", page("<tr><td>x</td></tr>", "<th>Title</th>")]
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_cell = st.text(max_size=20) | st.sampled_from(["G/TBT/N/ARE/703", "G/TBT/N/BHR/492/Rev.1", "2026-06-02", "x (ICS: 1)"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cell, max_size=4), max_size=5))
def test_arbitrary_rows_are_items_or_rejects(rows: list[list[str]]) -> None:
    assert_rows_are_items_or_rejects(SOURCE, page(table_rows(rows)), URL, rows)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.binary(max_size=60))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    assert_only_documented_errors_on_damage(SOURCE, URL, cut, junk)
