"""GÜBİS (Türkiye): the real notification page field by field, the rid walk, damaged pages, a replay crawl."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.replay import REPLAY_DIR
from crawlers.run import crawl
from crawlers.sources import load_source
from crawlers.sources.tr_gubis.parser import next_page, parse, rid_of
from schema.engine import make_engine
from schema.models import CrawlRun, Measure
from tbt_alert.errors import StructureChanged
from tbt_alert.settings import Settings
from tests.crawlers.recorded import cases

SOURCE = "tr_gubis"
PAGE = "https://guvensizurun.ticaret.gov.tr/Bildirim/Detay?rid=10705"


def _body() -> bytes:
    [case] = cases(SOURCE)
    return case.body()


def test_the_recorded_notification_field_by_field() -> None:
    result = parse(_body(), PAGE, load_source(SOURCE))
    assert result.rejected == []
    [item] = result.items
    assert item.source_key == "2023100001"
    assert item.kind == "recall"
    assert item.title == "Helikopter Oyuncak"
    assert item.brand == "Global"
    assert item.product_type == "Araçlar"
    assert item.country == "TUR"
    assert item.country_of_origin == "CHN"  # "Çin (Prc)"
    assert item.language == "tr"
    assert item.published_on == dt.date(2023, 10, 5)
    assert item.hazard == "Boğulma (Dışarıdan Akciğerlere Doğru Olan Hava Akışının Mekanik Şekilde Engellenmesi.)"
    assert item.description is not None
    assert item.description.startswith("Oyuncak Üzerindeki Jelatinli Küçük Kısımların")
    assert item.measures_taken == "Piyasaya Arzın Yasaklanması Ve Toplatma"
    assert item.url == PAGE
    assert item.extra == {
        "rid": 10705,
        "firm": "Global Gıda Pazarlama Ve Dış Ticaret Ltd. Şti.",
        "firm_address": "Pınar Mahallesi 19 Mayıs Bulvarı No:30 Esenyurt/İstanbul",
        "model": "Copter D/62",
        "notifying_body": "Ticaret Bakanlığı",
        "legislation": [
            "Oyuncak Güvenliği Yönetmeliği",
            "7223 Ürün Güvenliği Ve Teknik Düzenlemeler Kanunu",
            "Ticaret Bakanlığı Piyasa Gözetimi Ve Denetimi Yönetmeliği",
        ],
    }
    assert item.raw_payload.startswith('<ul class="w3-ul w3-border">')
    assert "2023100001" in item.raw_payload


def test_a_notification_asks_for_the_next_rid_until_the_walk_is_long_enough() -> None:
    config = load_source(SOURCE)
    assert parse(_body(), PAGE, config).follow == ["https://guvensizurun.ticaret.gov.tr/Bildirim/Detay?rid=10706"]
    assert rid_of(PAGE) == 10705
    last = 10705 + int(config.options["walk_max"]) - 1
    assert next_page(PAGE.replace("10705", str(last - 1)), config) is not None
    assert next_page(PAGE.replace("10705", str(last)), config) is None
    assert next_page("https://guvensizurun.ticaret.gov.tr/", config) is None


def test_a_gubis_page_without_a_notification_ends_the_walk() -> None:
    body = _body()
    start = body.index(b'<ul class="w3-ul w3-border">')
    end = body.index(b"</ul>", start) + len(b"</ul>")
    result = parse(body[:start] + body[end:], PAGE.replace("10705", "99999"), load_source(SOURCE))
    assert (result.items, result.rejected, result.follow) == ([], [], [])


def test_a_notification_without_its_number_is_quarantined() -> None:
    body = _body().replace(b"<p>2023100001</p>", b"<p></p>", 1)
    result = parse(body, PAGE, load_source(SOURCE))
    assert result.items == []
    [rejected] = result.rejected
    assert (rejected.record_key, rejected.field) == ("rid 10705", "number")
    assert rejected.raw_payload.startswith('<ul class="w3-ul w3-border">')


def test_an_unknown_origin_or_an_impossible_date_is_quarantined() -> None:
    origin = parse(_body().replace(b"&#199;in (Prc)", b"Atlantis", 1), PAGE, load_source(SOURCE))
    [rejected] = origin.rejected
    assert (rejected.record_key, rejected.field) == ("2023100001", "origin")
    assert "tr_gubis.yml" in rejected.reason
    date = parse(_body().replace(b"<p>05.10.2023</p>", b"<p>31.02.2023</p>", 1), PAGE, load_source(SOURCE))
    assert [(r.record_key, r.field) for r in date.rejected] == [("2023100001", "date")]


def test_an_unlisted_label_is_kept_not_lost() -> None:
    body = _body().replace("<p>ÜRÜN ETİKET ADI</p>".encode(), "<p>YENİ ALAN</p>".encode(), 1)
    body = body.replace(b"<p></p>", b"<p>Etiket</p>", 1)
    [item] = parse(body, PAGE, load_source(SOURCE)).items
    assert item.extra["unmapped"] == {"YENİ ALAN": "Etiket"}


def test_a_page_that_is_not_gubis_is_a_structure_change() -> None:
    with pytest.raises(StructureChanged):
        parse(b"<!DOCTYPE html><html><head><title>Hata</title></head><body></body></html>", PAGE, load_source(SOURCE))
    with pytest.raises(StructureChanged):
        parse(b'{"error": "not html"}', PAGE, load_source(SOURCE))


def test_a_replay_crawl_stores_the_notification_and_the_walk_ends_quietly(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(TBT_DATABASE_URL=sqlite_url)
    fast = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "LOG_LEVEL": "WARNING"}
    outcome = crawl(settings, SOURCE, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=fast)
    # rid 10706 is not recorded: the replay answers 404, which ends the walk without an error.
    assert (outcome.source_id, outcome.status) == (SOURCE, "success")
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            stored = session.scalars(select(Measure).where(Measure.source_id == SOURCE)).all()
            assert [(m.source_key, m.country_of_origin) for m in stored] == [("2023100001", "CHN")]
            [run] = session.scalars(select(CrawlRun).where(CrawlRun.source_id == SOURCE)).all()
            assert (run.status, run.seen, run.new) == ("success", 1, 1)
    finally:
        engine.dispose()
