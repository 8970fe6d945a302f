"""Defensa del Consumidor's alert sheet (Argentina): the real excerpt, field by field, and damaged records."""

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
from crawlers.sources.ar_defensa_consumidor.parser import alert_date, parse, split_records
from schema.engine import make_engine
from schema.models import Measure
from tbt_alert.errors import RecordRejected, StructureChanged
from tbt_alert.settings import Settings
from tests.crawlers.recorded import cases

SOURCE = "ar_defensa_consumidor"
SHEET = "https://docs.google.com/spreadsheets/d/1eUlKJFk-TYgZcmNd1-OMkMKSpeIOyNIgL4frzkKUnWs/gviz/tq?tqx=out:csv"
PORTAL = "https://www.argentina.gob.ar/produccion/defensadelconsumidor/alertas-de-productos"


def _body() -> bytes:
    [case] = cases(SOURCE)
    return case.body()


def _items() -> list[MeasureItem]:
    return parse(_body(), SHEET, load_source(SOURCE)).items


def test_every_recorded_record_is_a_recall_in_spanish() -> None:
    result = parse(_body(), SHEET, load_source(SOURCE))
    assert result.rejected == []
    assert len(result.items) == 21
    assert {i.language for i in result.items} == {"es"}
    assert {i.country for i in result.items} == {"ARG"}
    assert {i.kind for i in result.items} == {"recall"}
    assert {i.url for i in result.items} == {PORTAL}
    assert result.follow == []
    assert len({i.source_key for i in result.items}) == 21


def test_the_hp_batteries_record_field_by_field() -> None:
    # Its six cells give the per-record hash a third party stored for it (see recorded/meta.json).
    hp = next(i for i in _items() if i.brand == "HP")
    assert hp.source_key == "HP | Baterías de litio | 9acbe84a"
    assert hp.title == hp.products == "Baterías de litio"
    assert hp.hazard == (
        "Las baterías tienen el potencial de sobrecalentarse, lo que podría ocasionar un incendio "
        "o ser un riesgo de quemadura."
    )
    assert hp.risk_type == "Incendio, quemaduras"
    assert hp.category == "communication_media"
    assert hp.published_on is None  # "2017/01/04": 4 January or 1 April, both real days
    assert hp.extra == {"categoria": "Electrónicos/ Equipo audiovisual y de computadoras", "fecha_alerta": "2017/01/04"}
    assert hp.country_of_origin is None
    assert hp.raw_payload.startswith('"Electrónicos/ Equipo audiovisual y de computadoras","2017/01/04","HP",')
    assert hp.raw_payload.endswith(',""' * 20)


def test_a_date_is_read_only_when_one_reading_is_impossible() -> None:
    items = _items()
    fca = next(i for i in items if i.products == "Chrysler - Dodge -Jeep - RAM")
    assert fca.published_on == dt.date(2018, 4, 24)
    assert "fecha_alerta" not in fca.extra
    tiguan = next(i for i in items if i.products == "Tiguan Allspace")
    assert tiguan.published_on == dt.date(2019, 7, 16)
    assert [i.published_on for i in items].count(None) == 19
    kept = {i.products: i.extra.get("fecha_alerta") for i in items if i.published_on is None}
    assert kept["MUSTANG MACH E"] == "2026/09/08"
    assert kept["AUDI Q8 E-TRON y ETRON"] is None  # the cell is empty in the capture


def test_alert_dates_in_both_conventions() -> None:
    def read(cell: str | None) -> dt.date | None:
        return alert_date(cell, source=SOURCE, record="r")

    assert read("2018/04/24") == dt.date(2018, 4, 24)  # year/month/day, the older records
    assert read("2026/27/07") == dt.date(2026, 7, 27)  # year/day/month, as a later copy of the sheet writes 2026
    assert read("2026/19/08") == dt.date(2026, 8, 19)
    assert read("2026/05/05") == dt.date(2026, 5, 5)  # both readings are the same day
    assert read("2026/09/08") is None
    assert read(None) is None
    with pytest.raises(RecordRejected, match="2026/13/13"):
        read("2026/13/13")
    with pytest.raises(RecordRejected, match="04/09/2026"):
        read("04/09/2026")


def test_toys_from_marketplaces_keep_their_spanish_text_and_typos() -> None:
    items = _items()
    toys = [i for i in items if i.category == "toys"]
    assert [i.brand for i in toys] == [
        "MERCADOLIBRE",
        "MERCADOLIBRE",
        "Mercado Libre",
        "Mercado Libre/Fravega",
        "Mercado Libre/Celugadgets",
        "TEMU",
    ]
    temu = toys[-1]
    assert temu.title == '"4 piezas de sirena giratoria" — Juego de 4 sirenas, color aleatorio'
    assert temu.extra["categoria"] == "Jueguetes"  # as written, mapped to toys by the YAML
    assert "butilbencilftalato (BBP)" in (temu.hazard or "")
    asbestos = toys[0]
    assert asbestos.title == "STRETCHES-ORB FUNKEE"  # the cell's trailing space is not kept
    assert asbestos.risk_type == "Envenenamiento"
    ktm = items[-1]
    assert (ktm.brand, ktm.category, ktm.risk_type) == ("KTM", "motor_vehicles", None)


def test_records_are_split_on_line_breaks_outside_quotes_only() -> None:
    text = '"a","b"\r\n"Juguetes","línea uno\nlínea dos","x ""y"""\n"c","d"'
    assert split_records(text) == ['"a","b"', '"Juguetes","línea uno\nlínea dos","x ""y"""', '"c","d"']
    body = _body().replace('"Baterías de litio"'.encode(), '"Baterías\r\nde litio"'.encode(), 1)
    hp = next(i for i in parse(body, SHEET, load_source(SOURCE)).items if i.brand == "HP")
    assert hp.title == "Baterías de litio"
    assert "Baterías\r\nde litio" in hp.raw_payload


def test_damaged_records_are_quarantined_and_the_others_kept() -> None:
    body = _body()
    body = body.replace(b'"SpiderMan"', b'""', 1)  # record 10: no product
    body = body.replace(b"Lanchas (outboards)", b"Lanchas (fuera de borda)", 1)  # record 8
    body = body.replace(b'"2019/07/16"', b'"16-07-2019"', 1)  # record 2
    result = parse(body, SHEET, load_source(SOURCE))
    assert len(result.items) == 18
    date, category, product = result.rejected
    assert (date.field, date.record_key) == ("date", "Volkswagen Argentina S.A. | Tiguan Allspace | 0a2c3656")
    assert "16-07-2019" in date.reason
    assert category.field == "category"
    assert "Lanchas (fuera de borda)" in category.reason
    assert (product.field, product.record_key) == ("product", "record 10")
    assert product.raw_payload.startswith('"Juguetes","","Mercado Libre","",')


def test_an_answer_that_is_not_the_alerts_sheet_is_a_structure_change() -> None:
    config = load_source(SOURCE)
    with pytest.raises(StructureChanged):  # what Google answers when a sheet is no longer public
        parse(b"<!DOCTYPE html><html><head><title>Google Sheets - Sign in</title></head></html>", SHEET, config)
    with pytest.raises(StructureChanged):
        parse(b"", SHEET, config)
    renamed = _body().replace(b"riesgos Riesgos", b"Peligros", 1)
    with pytest.raises(StructureChanged, match="risk"):
        parse(renamed, SHEET, config)


def test_a_replay_crawl_stores_every_recorded_record(make_settings: Callable[..., Settings], sqlite_url: str) -> None:
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
            assert sum(1 for m in stored if m.category == "toys") == 6
    finally:
        engine.dispose()
