"""TİTCK's unsafe-cosmetics list (Türkiye): the real excerpt, field by field, and damaged rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.items import MeasureItem
from crawlers.replay import REPLAY_DIR
from crawlers.run import crawl
from crawlers.sources import load_source
from crawlers.sources.tr_titck.parser import parse, split_reason
from schema.engine import make_engine
from schema.models import Measure
from tbt_alert.errors import StructureChanged
from tbt_alert.settings import Settings
from tests.crawlers.recorded import cases

SOURCE = "tr_titck"
LIST = "https://www.titck.gov.tr/dinamikmodul/113"


def _body() -> bytes:
    [case] = cases(SOURCE)
    return case.body()


def _items() -> list[MeasureItem]:
    return parse(_body(), LIST, load_source(SOURCE)).items


def test_every_recorded_row_is_an_unsafe_product_in_turkish() -> None:
    result = parse(_body(), LIST, load_source(SOURCE))
    assert result.rejected == []
    assert len(result.items) == 13
    assert {i.language for i in result.items} == {"tr"}
    assert {i.country for i in result.items} == {"TUR"}
    assert result.follow == []


def test_the_newest_row_field_by_field() -> None:
    first = parse(_body(), LIST, load_source(SOURCE)).items[0]
    product = "8807779000970 Barkod numaralı DAENG GI MEO RI - Ki Gold Premium Nutritive Hair Mask Pack - Barkod:"
    firm = "Likya Sağlık Ürünleri Danışmanlık ve Ticaret Limited Şirketi"
    assert first.source_key == f"2026-04-10 | {firm} | {product} | Bütün Seriler"
    assert first.kind == "recall"
    assert first.title == product
    assert first.products == product
    assert first.published_on == dt.date(2026, 4, 10)
    assert first.country_of_origin == "KOR"  # Güney Kore
    assert first.category == "cosmetics"
    assert first.hazard == "Ürünün formülasyonunda Kozmetik mevzuatına aykırı bileşen olduğu tespit edilmiştir."
    assert first.measures_taken == "İdari para cezası ve idari yaptırım uygulanmıştır."
    assert first.extra == {"firm": firm, "gtin": "8807779000970", "lot": "Bütün Seriler"}
    assert first.url == LIST
    assert first.raw_payload.startswith("<tr>")
    assert "Likya Sağlık" in first.raw_payload


def test_chinese_made_products_carry_their_origin() -> None:
    items = parse(_body(), LIST, load_source(SOURCE)).items
    chinese = [i for i in items if i.country_of_origin == "CHN"]  # "Çin Halk Cumhuriyeti"
    assert [i.title for i in chinese] == [
        "Moziur Diamond Top Coat",
        "Moziur Air Dry Primer",
        "Moziur Rubber Base Coat",
        "Moziur Strong Base Coat",
        "Moziur Tempered Top Coat",
    ]
    assert {i.published_on for i in chinese} == {dt.date(2024, 10, 7)}
    assert {i.extra["firm"] for i in chinese} == {"Zerre Dış Ticaret Limited Şirketi"}


def test_a_lot_number_is_part_of_the_key() -> None:
    items = parse(_body(), LIST, load_source(SOURCE)).items
    ducca = next(i for i in items if i.title == "By Ducca Cosmetics Protection Shampoo 500 ml")
    assert ducca.extra["lot"] == "20240138"
    assert ducca.source_key.endswith(" | By Ducca Cosmetics Protection Shampoo 500 ml | 20240138")
    assert "gtin" not in ducca.extra


def test_a_row_with_an_unknown_origin_or_a_bad_date_is_quarantined_and_the_others_kept() -> None:
    body = _body().replace("Güney Kore".encode(), b"Atlantis", 1)  # row 1
    at = body.index(b"Adreya Skin Care Spray")  # row 2: its date cell comes after the product
    body = body[:at] + body[at:].replace(b"10/04/2026", b"31/02/2026", 1)
    result = parse(body, LIST, load_source(SOURCE))
    assert len(result.items) == 11
    origin, date = result.rejected
    assert (date.record_key, date.field) == ("row 2", "date")
    assert "31/02/2026" in date.reason
    assert origin.field == "origin"
    assert origin.record_key is not None
    assert origin.record_key.startswith("2026-04-10 | Likya")
    assert "Atlantis" in origin.reason
    assert "tr_titck.yml" in origin.reason
    assert origin.raw_payload.startswith("<tr>")


def test_a_row_without_a_product_is_quarantined() -> None:
    body = _body().replace(b"Moziur Air Dry Primer", b"", 1)
    result = parse(body, LIST, load_source(SOURCE))
    [rejected] = result.rejected
    assert (rejected.record_key, rejected.field) == ("row 10", "product")
    assert len(result.items) == 12


def test_a_page_without_the_list_table_is_a_structure_change() -> None:
    with pytest.raises(StructureChanged):
        parse(b"<html><body><p>Bakim calismasi</p></body></html>", LIST, load_source(SOURCE))
    with pytest.raises(StructureChanged):
        parse(b'{"error": "not html"}', LIST, load_source(SOURCE))


def test_the_reason_is_split_into_what_was_found_and_what_was_done() -> None:
    found, done = split_reason('"Ürün içeriğinde aykırılık tespit edilmiştir. Ürünler toplatılmıştır."')
    assert found == "Ürün içeriğinde aykırılık tespit edilmiştir."
    assert done == "Ürünler toplatılmıştır."
    assert split_reason(None) == (None, None)
    assert split_reason("İdari para cezası uygulanmıştır.") == (None, "İdari para cezası uygulanmıştır.")


def test_a_replay_crawl_stores_every_recorded_row(make_settings: Callable[..., Settings], sqlite_url: str) -> None:
    db_url = sqlite_url  # migrated; the crawl is the real `scrapy crawl` child against the loopback replay
    settings = make_settings(TBT_DATABASE_URL=db_url)
    fast = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "LOG_LEVEL": "WARNING"}
    outcome = crawl(settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=fast)
    assert (outcome.source_id, outcome.status) == (SOURCE, "success")
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            stored = session.scalars(select(Measure).where(Measure.source_id == SOURCE)).all()
            assert sorted(m.source_key for m in stored) == sorted(i.source_key for i in _items())
            assert sum(1 for m in stored if m.country_of_origin == "CHN") == 5
    finally:
        engine.dispose()
