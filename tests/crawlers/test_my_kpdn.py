"""Malaysia, KPDN mySAFE: the real recall table, one recall field by field, bad rows, odd pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.replay import REPLAY_DIR
from crawlers.run import crawl
from crawlers.sources import load_source
from crawlers.sources.my_kpdn.parser import parse, recall_date
from schema.engine import make_engine
from schema.models import Measure
from tbt_alert.errors import RecordRejected, StructureChanged
from tbt_alert.settings import Settings
from tests.crawlers.recorded import (
    assert_only_documented_errors_on_damage,
    assert_rows_are_items_or_rejects,
    cases,
    meta,
    table_rows,
)

SOURCE = "my_kpdn"
URL = "https://mysafe.kpdn.gov.my/portal/post/3"
HEADER = (
    "<thead><tr><th>#</th><th>Product Name</th><th>Product Category</th><th>Image</th>"
    "<th>Notice of Recall</th><th>Date of Recall</th><th>Relevant Website</th></tr></thead>"
)


FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 1}


def _recorded() -> bytes:
    return cases(SOURCE)[0].body()


def page(rows: str, header: str = HEADER) -> bytes:
    return f"<!DOCTYPE html><html><body><table>{header}<tbody>{rows}</tbody></table></body></html>".encode()


def test_the_recording_is_real_and_the_source_enabled() -> None:
    assert meta(SOURCE)["constructed"] is False
    assert all(not c["constructed"] for c in meta(SOURCE)["cases"])
    config = load_source(SOURCE)
    assert (config.enabled, config.verified, config.jurisdiction) == (True, True, "MYS")


def test_every_recorded_row_is_a_recall_keyed_by_its_portal_number() -> None:
    result = parse(_recorded(), URL, load_source(SOURCE))
    assert result.rejected == []
    assert [(i.source_key, i.published_on) for i in result.items] == [
        ("101", dt.date(2026, 6, 24)),
        ("100", dt.date(2026, 5, 29)),
        ("99", dt.date(2025, 9, 29)),
        ("98", dt.date(2025, 8, 19)),
        ("97", dt.date(2025, 6, 12)),
        ("95", dt.date(2025, 5, 22)),
        ("94", dt.date(2025, 4, 16)),
        ("92", dt.date(2024, 11, 20)),
        ("93", dt.date(2024, 11, 20)),
        ("90", dt.date(2024, 11, 13)),
    ]
    assert result.follow == []


def test_the_xiaomi_power_bank_recall_field_by_field() -> None:
    items = {i.source_key: i for i in parse(_recorded(), URL, load_source(SOURCE)).items}
    power_bank = items["99"]
    assert power_bank.kind == "recall"
    assert power_bank.title == "Xiaomi 33W Power Bank 20000mAh (Integrated Cable)"
    assert power_bank.country == "MYS"
    assert power_bank.published_on == dt.date(2025, 9, 29)
    assert power_bank.url == URL  # no recall has a page of its own on the portal
    assert power_bank.products == (
        "Xiaomi 33W Power Bank 20000mAh (Integrated Cable)\n"
        "Name: Xiaomi 33W Power Bank 20000mAh (Integrated Cable)\n"
        "Model: PB2030MI\n"
        "Manufacture period: between August and September 2024"
    )
    assert power_bank.description is not None
    assert power_bank.description.startswith(
        "Notification of Product Recall Measures for Xiaomi 33W Power Bank 20000mAh (Integrated Cable)\n"
    )
    assert "potentially resulting in battery overheating, which could pose a fire hazard" in power_bank.description
    assert power_bank.extra == {"relevant_website": "https://www.mi.com/my/support/safety-notice/"}
    assert power_bank.raw_payload.startswith("<tr>")
    assert "/storage/recall/99/5839ffc9/538cb5aa/" in power_bank.raw_payload
    assert power_bank.raw_payload.rstrip().endswith("</tr>")


def test_the_thermos_name_keeps_its_registered_mark() -> None:
    items = {i.source_key: i for i in parse(_recorded(), URL, load_source(SOURCE)).items}
    assert items["101"].title == "Thermos® Stainless King Food Jars (SK3000 & SK3020 Series)"


def test_bad_rows_are_quarantined_and_the_others_kept() -> None:
    # The first recorded row with its date emptied, another with its product name emptied.
    body = _recorded().replace(b"<td>24-06-2026</td>", b"<td></td>", 1)
    body = body.replace(b"<td>BenQ GV31 Portable Mini Projector</td>", b"<td> </td>", 1)
    result = parse(body, URL, load_source(SOURCE))
    assert [(r.record_key, r.field) for r in result.rejected] == [("101", "recalled_on"), ("row 2", "product")]
    assert result.rejected[0].reason.endswith("the Date of Recall cell is empty")
    assert len(result.items) == 8
    assert "101" not in {i.source_key for i in result.items}


def test_a_row_without_a_portal_number_is_keyed_by_date_and_name() -> None:
    # Inline test row (invented values, for the parser's logic only).
    row = "<tr><td>1</td><td>Test Kettle</td><td></td><td></td><td>Recall.</td><td>02-01-2026</td><td></td></tr>"
    [item] = parse(page(row), URL, load_source(SOURCE)).items
    assert (item.source_key, item.products, item.extra) == ("2026-01-02 Test Kettle", "Test Kettle", {})


def test_dates() -> None:
    assert recall_date("24-06-2026", source=SOURCE, record="r") == dt.date(2026, 6, 24)
    assert recall_date(" 1-2-2025 ", source=SOURCE, record="r") == dt.date(2025, 2, 1)
    with pytest.raises(RecordRejected, match="not a date"):
        recall_date("2026-06-24", source=SOURCE, record="r")
    with pytest.raises(RecordRejected, match="impossible"):
        recall_date("31-02-2026", source=SOURCE, record="r")
    with pytest.raises(RecordRejected, match="cell is empty"):
        recall_date(" ", source=SOURCE, record="r")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b"<html><body><p>Maintenance</p></body></html>",
        page("<tr><td>1</td></tr>", "<thead><tr><th>#</th><th>Product Name</th></tr></thead>"),
    ],
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_cell = st.text(max_size=20) | st.sampled_from(["24-06-2026", "99-99-2026", "Thermos®", ""])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cell, min_size=0, max_size=7), max_size=5))
def test_arbitrary_rows_are_items_or_rejects(rows: list[list[str]]) -> None:
    assert_rows_are_items_or_rejects(SOURCE, page(table_rows(rows)), URL, rows)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=30_000), st.binary(max_size=60))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    assert_only_documented_errors_on_damage(SOURCE, URL, cut, junk)


def test_a_replayed_crawl_stores_the_ten_recalls_once(db_url: str, make_settings: Callable[..., Settings]) -> None:
    run_settings = make_settings(TBT_DATABASE_URL=db_url)
    first = crawl(run_settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    assert (first.status, first.seen, first.new, first.rejected, first.suspicious) == ("success", 10, 10, 0, False)
    again = crawl(run_settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    assert (again.status, again.new, again.unchanged) == ("success", 0, 10)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            stored = session.scalars(select(Measure).where(Measure.source_id == SOURCE)).all()
            assert sorted(m.source_key for m in stored) == sorted(
                ["101", "100", "99", "98", "97", "95", "94", "93", "92", "90"]
            )
            assert {m.country for m in stored} == {"MYS"}
            assert {m.language for m in stored} == {"en"}  # detected: the notices are in English
    finally:
        engine.dispose()
