"""KazStandard (Kazakhstan): the real catalogue excerpt, one standard field by field, bad cards, odd pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.replay import REPLAY_DIR
from crawlers.run import crawl
from crawlers.sources import load_source
from crawlers.sources.kz_kazstandard.parser import parse
from schema.engine import make_engine
from schema.models import Measure
from tbt_alert.errors import StructureChanged
from tbt_alert.settings import Settings
from tests.crawlers.recorded import assert_only_documented_errors_on_damage, cases, meta

SOURCE = "kz_kazstandard"
URL = "https://new-shop.ksm.kz/catalog/category/%D0%B3%D0%BE%D1%81%D1%82/"
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 1}
KEYS = ["77227", "77226", "77225", "77224", "77223", "77222", "77221", "77062", "77031", "76921"]


def _recorded() -> bytes:
    return cases(SOURCE)[0].body()


def test_the_recording_is_real_and_the_source_enabled() -> None:
    assert meta(SOURCE)["constructed"] is False
    assert all(not c["constructed"] for c in meta(SOURCE)["cases"])
    config = load_source(SOURCE)
    assert (config.enabled, config.verified, config.jurisdiction, config.kind) == (True, True, "KAZ", "standard")


def test_every_recorded_card_is_an_item_keyed_by_its_document_number() -> None:
    result = parse(_recorded(), URL, load_source(SOURCE))
    assert result.rejected == []
    assert [i.source_key for i in result.items] == KEYS
    assert [i.extra["status_code"] for i in result.items] == ["accepted_mgs"] * 9 + ["active"]
    assert result.follow == []


def test_the_acrylates_in_childrens_products_standard_field_by_field() -> None:
    items = {i.source_key: i for i in parse(_recorded(), URL, load_source(SOURCE)).items}
    gost = items["77031"]
    assert gost.kind == "standard"
    # Two spaces after "детей." on the page; the title keeps the words, not the run of spaces.
    assert gost.title == (
        "Изделия для детей. Газохроматографическое определение акрилатов в водных вытяжках из материалов"
        " различного состава"
    )
    assert gost.document_symbol == "ГОСТ 35303-2025"
    assert (gost.country, gost.language, gost.product_type) == ("KAZ", "ru", "ГОСТ")
    assert gost.ics_codes == ["13.120"]
    assert gost.url == "https://new-shop.ksm.kz/catalog/document/77031/"
    assert gost.published_on is None  # the card shows no date, and none is guessed
    assert gost.extra == {
        "status": "Принят в МГС (не введен)",
        "status_code": "accepted_mgs",
        "pages": 20,
        "price_kzt": 5458,
    }
    assert gost.raw_payload.startswith('<div class="prod-card">\n        <a href="/catalog/document/77031/"')
    assert gost.raw_payload.endswith("</form>\n\n            </div>\n        </div>\n    </div>")


def test_designations_keep_their_international_equivalent_as_written() -> None:
    items = {i.source_key: i for i in parse(_recorded(), URL, load_source(SOURCE)).items}
    assert items["77227"].document_symbol == "ГОСТ 31425.5-2025 / ISO 9902-5:2001"
    assert items["77225"].document_symbol == "ГОСТ 31425.4-2025/ ISO 9902-4:2001"
    assert items["76921"].extra["status"] == "Действующий"
    assert items["77221"].ics_codes == ["75.080"]


def test_bad_cards_are_quarantined_and_the_others_kept() -> None:
    body = _recorded()
    body = body.replace(
        '<div class="prod-title">Почвы. Определение нитратов ионометрическим методом</div>'.encode(),
        b'<div class="prod-title"></div>',
        1,
    )
    body = body.replace(b'href="/catalog/document/77226/" class="prod-top"', b'href="/promo/" class="prod-top"', 1)
    body = body.replace(
        b'<span><i class="bi bi-tag"></i> 03.120.01</span>',
        '<span><i class="bi bi-tag"></i> МКС неизвестен</span>'.encode(),
        1,
    )
    body = body.replace('pb-new">Действующий</span>'.encode(), 'pb-new">Архивный</span>'.encode(), 1)
    result = parse(body, URL, load_source(SOURCE))
    assert [(r.record_key, r.field) for r in result.rejected] == [
        ("card 2", "href"),
        ("77223", "ics_codes"),
        ("77062", "prod-title"),
        ("76921", "status"),
    ]
    assert [i.source_key for i in result.items] == ["77227", "77225", "77224", "77222", "77221", "77031"]
    assert "Архивный" in result.rejected[3].reason
    assert result.rejected[0].raw_payload.startswith('<div class="prod-card">')


def test_a_card_without_designation_is_rejected() -> None:
    body = _recorded().replace("ГОСТ 1437-2024</div>".encode(), b"</div>", 1)
    result = parse(body, URL, load_source(SOURCE))
    [rejected] = result.rejected
    assert (rejected.record_key, rejected.field) == ("77221", "prod-code")
    assert len(result.items) == 9


@pytest.mark.parametrize(
    "body",
    [b"", b"{}", "<html><body><p>Страница не найдена</p></body></html>".encode(), b"\xff\xfe<div class='prod-card'>"],
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_text = st.text(max_size=30) | st.sampled_from(["/catalog/document/1/", "", "&amp;", "12 стр.", "13.120", "</div>"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_text, _text, _text, _text), min_size=1, max_size=5))
def test_arbitrary_cards_are_items_or_rejects(cards: list[tuple[str, str, str, str]]) -> None:
    from html import escape

    body = "".join(
        f'<div class="prod-card"><a href="{escape(href)}" class="prod-top"><div class="prod-code">{escape(code)}'
        f'</div><div class="prod-title">{escape(title)}</div><div class="prod-meta"><span>{escape(ics)}</span>'
        "</div></a></div>"
        for href, code, title, ics in cards
    ).encode()
    result = parse(body, URL, load_source(SOURCE))
    assert len(result.items) + len(result.rejected) == len(cards)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=20_000), st.binary(max_size=60))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    assert_only_documented_errors_on_damage(SOURCE, URL, cut, junk)


def test_a_replayed_crawl_stores_the_ten_standards_once(db_url: str, make_settings: Callable[..., Settings]) -> None:
    run_settings = make_settings(TBT_DATABASE_URL=db_url)
    first = crawl(run_settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    assert (first.status, first.seen, first.new, first.rejected, first.suspicious) == ("success", 10, 10, 0, False)
    again = crawl(run_settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    assert (again.status, again.new, again.unchanged) == ("success", 0, 10)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            stored = session.scalars(select(Measure).where(Measure.source_id == SOURCE)).all()
            assert sorted(m.source_key for m in stored) == sorted(KEYS)
            assert {(m.country, m.language, m.kind) for m in stored} == {("KAZ", "ru", "standard")}
    finally:
        engine.dispose()
