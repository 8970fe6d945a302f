"""New Zealand Product Safety: the real list excerpt, one recall field by field, bad recalls, odd pages."""

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
from crawlers.sources.nz_productsafety.parser import parse, recall_date
from schema.engine import make_engine
from schema.models import Measure
from tbt_alert.errors import RecordRejected, StructureChanged
from tbt_alert.settings import Settings
from tests.crawlers.recorded import assert_only_documented_errors_on_damage, cases, meta

SOURCE = "nz_productsafety"
URL = "https://www.productsafety.govt.nz/recalls"
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 1}
BEARS = "university-of-auckland-graduation-bears-sold-at-auckland-university-campus-bookstore"
NARVA = "narva-ultima-wiring-harness-for-use-with-ultima-mk3-215-hybrid-driving-lights-sold-at-various-retailers"
CAN_AM = "can-am-spyder-rt-and-f3-2026-sold-at-brp-can-am-on-road-authorized-dealers"
CLICKER = "4-button-clickable-toy-on-key-chain-provided-as-a-free-gift-by-kingdomcity"


def _recorded() -> bytes:
    return cases(SOURCE)[0].body()


def test_the_recording_is_real_and_the_source_enabled() -> None:
    assert meta(SOURCE)["constructed"] is False
    assert all(not c["constructed"] for c in meta(SOURCE)["cases"])
    config = load_source(SOURCE)
    assert (config.enabled, config.verified, config.jurisdiction) == (True, True, "NZL")


def test_every_recorded_recall_is_an_item_keyed_by_its_page_name() -> None:
    result = parse(_recorded(), URL, load_source(SOURCE))
    assert result.rejected == []
    assert [(i.source_key, i.published_on) for i in result.items] == [
        (BEARS, dt.date(2026, 10, 2)),
        (NARVA, dt.date(2026, 9, 25)),
        (CAN_AM, dt.date(2026, 9, 22)),
        (CLICKER, dt.date(2026, 9, 18)),
    ]
    assert result.follow == []


def test_the_narva_wiring_harness_recall_field_by_field() -> None:
    items = {i.source_key: i for i in parse(_recorded(), URL, load_source(SOURCE)).items}
    narva = items[NARVA]
    assert narva.kind == "recall"
    assert narva.title == (
        "Narva Ultima Wiring Harness for Use with Ultima MK3 215 Hybrid Driving Lights Sold at Various Retailers"
    )
    assert (narva.country, narva.language) == ("NZL", "en")
    assert narva.published_on == dt.date(2026, 9, 25)  # 2026-09-25T00:00:00+12:00, the New Zealand date
    assert narva.url == f"https://www.productsafety.govt.nz/recalls/{NARVA}"
    assert narva.keywords == [
        "Electric or gas products",
        "Sports, recreation, and outdoors",
        "Tools, equipment, and machinery",
    ]
    assert narva.extra == {"shown_date": "25 September 2026"}
    assert narva.raw_payload.startswith('<article class="recall" data-aos="fade-in">')
    assert narva.raw_payload.endswith("</article>")
    assert NARVA in narva.raw_payload


def test_entities_in_categories_are_decoded() -> None:
    items = {i.source_key: i for i in parse(_recorded(), URL, load_source(SOURCE)).items}
    assert items[BEARS].keywords == ["Children's toys"]  # Children&#039;s toys on the page


def test_bad_recalls_are_quarantined_and_the_others_kept() -> None:
    body = _recorded().replace(b'datetime="2026-09-25T00:00:00+12:00"', b'datetime=""', 1)
    body = body.replace(b"MY2026) - Sold at BRP Can-Am On-Road authorized dealers</h1>", b"</h1>", 1)
    body = body.replace(b"Can-Am Spyder RT and F3 (</h1>", b"</h1>", 1)
    result = parse(body, URL, load_source(SOURCE))
    assert [(r.record_key, r.field) for r in result.rejected] == [(NARVA, "datetime"), (CAN_AM, "title")]
    assert [i.source_key for i in result.items] == [BEARS, CLICKER]
    assert "'' is not an ISO date and time" in result.rejected[0].reason
    assert result.rejected[0].raw_payload.startswith('<article class="recall"')


def test_a_recall_without_a_recall_page_link_is_rejected() -> None:
    body = _recorded().replace(f'href="/recalls/{BEARS}"'.encode(), b'href="/search?q=bears"', 1)
    result = parse(body, URL, load_source(SOURCE))
    [rejected] = result.rejected
    assert (rejected.record_key, rejected.field) == ("article 1", "href")
    assert len(result.items) == 3


def test_dates() -> None:
    assert recall_date("2026-10-02T00:00:00+13:00", source=SOURCE, record="r") == dt.date(2026, 10, 2)
    assert recall_date("2026-10-02", source=SOURCE, record="r") == dt.date(2026, 10, 2)
    with pytest.raises(RecordRejected, match="not an ISO date"):
        recall_date("2 October 2026", source=SOURCE, record="r")
    with pytest.raises(RecordRejected, match="not an ISO date"):
        recall_date(None, source=SOURCE, record="r")
    with pytest.raises(RecordRejected, match="impossible"):
        recall_date("2026-02-30T00:00:00+13:00", source=SOURCE, record="r")


@pytest.mark.parametrize(
    "body",
    [b"", b"{}", b"<html><body><p>Page not found</p></body></html>", b"\xff\xfe<article class='recall'>"],
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_text = st.text(max_size=30) | st.sampled_from(["2026-10-02T00:00:00+13:00", "/recalls/x", "", "&amp;"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_text, _text, _text), min_size=1, max_size=5))
def test_arbitrary_articles_are_items_or_rejects(articles: list[tuple[str, str, str]]) -> None:
    from html import escape

    body = "".join(
        f'<article class="recall"><a href="{escape(href)}"><time datetime="{escape(when)}"></time>'
        f'<h1 class="recall__title">{escape(title)}</h1></a></article>'
        for href, when, title in articles
    ).encode()
    result = parse(body, URL, load_source(SOURCE))
    assert len(result.items) + len(result.rejected) == len(articles)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.binary(max_size=60))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    assert_only_documented_errors_on_damage(SOURCE, URL, cut, junk)


def test_a_replayed_crawl_stores_the_four_recalls_once(db_url: str, make_settings: Callable[..., Settings]) -> None:
    run_settings = make_settings(TBT_DATABASE_URL=db_url)
    first = crawl(run_settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    assert (first.status, first.seen, first.new, first.rejected, first.suspicious) == ("success", 4, 4, 0, False)
    again = crawl(run_settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    assert (again.status, again.new, again.unchanged) == ("success", 0, 4)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            stored = session.scalars(select(Measure).where(Measure.source_id == SOURCE)).all()
            assert sorted(m.source_key for m in stored) == sorted([BEARS, NARVA, CAN_AM, CLICKER])
            assert {(m.country, m.language, m.kind) for m in stored} == {("NZL", "en", "recall")}
    finally:
        engine.dispose()
