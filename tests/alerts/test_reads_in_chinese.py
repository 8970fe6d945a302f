"""A zh bulletin reads as Chinese: each item opens with a Chinese line, the reason is a plain
sentence, the risk is in Chinese (English only in the English edition), and near-duplicate recalls
(same market, product and hazard) are one item with a count and their references.

The recalls are REAL: Safety Gate's weekly report 2025-12-05 as recorded in
crawlers/sources/eu_safety_gate/recorded/, parsed by the source's own parser; the sector tags are
what the classifier gives them (assigned here, the classifier is not under test).
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.compose import compose_bulletins
from crawlers.sources import load_sources
from crawlers.sources.eu_safety_gate.parser import parse_report
from schema.ids import measure_id
from schema.models import Bulletin, BulletinItem, SectorTag
from tbt_alert.settings import Settings
from tests.alerts.conftest import SEEN_AT, store, subscribe

REPORT = Path(__file__).resolve().parents[2] / "crawlers/sources/eu_safety_gate/recorded/report_10000282.xml.gz"
COFFEE_POTS = ("SR/04201/25", "SR/04215/25", "SR/04237/25", "SR/04238/25")  # Cyprus · Coffee pot · Burns
NOW = dt.datetime(2026, 7, 20, 0, 5, tzinfo=dt.UTC)
# English words of the source that a Chinese reader must not meet as labels (titles stay original).
ENGLISH_LABELS = ("Burns", "serious", "Serious risk", "model:", "≈", "'type'", "{'", "[{")


def _recalls() -> list[dict[str, Any]]:
    items = parse_report(
        gzip.decompress(REPORT.read_bytes()), "https://ec.europa.eu/safety-gate", load_sources()["eu_safety_gate"]
    )
    records = []
    for item in items.items:
        if item.title == "Coffee pot" or item.source_key == "SR/04196/25":
            record = item.model_dump()
            record.pop("parent_key", None)
            records.append(record)
    return records


@pytest.fixture
def coffee_pots(db_session: Session) -> list[dict[str, Any]]:
    records = _recalls()
    assert {r["source_key"] for r in records} >= set(COFFEE_POTS)
    store(db_session, records)
    for record in records:
        db_session.add(
            SectorTag(
                measure_id=measure_id("eu_safety_gate", record["source_key"]),
                sector="household_appliances",
                score=0.66,
                method="model",
                evidence={
                    "threshold": 0.4,
                    "terms": ["electric", "pot"],
                    "nearest_examples": [{"example": "[eu_safety_gate] Coffee maker | Electric", "similarity": 0.66}],
                },
                classifier_version="test",
                created_at=SEEN_AT,
            )
        )
    db_session.commit()
    return records


def _bulletin(session: Session, language: str) -> Bulletin:
    return session.scalars(select(Bulletin).where(Bulletin.language == language)).one()


def test_near_identical_recalls_are_one_item_with_their_references(
    db_session: Session, alert_settings: Settings, coffee_pots: list[dict[str, Any]]
) -> None:
    subscribe(db_session, "appliances@example.com", language="zh", sectors="household_appliances")
    assert compose_bulletins(alert_settings, now=NOW).bulletins == 1
    bulletin = _bulletin(db_session, "zh")
    text = bulletin.text
    assert text.count("原文标题: Coffee pot") == 1  # four alerts, one item
    assert "同类召回共 4 项（同一市场、产品与危害）" in text
    for key in COFFEE_POTS:
        assert key in text
    stored = set(db_session.scalars(select(BulletinItem.measure_id).where(BulletinItem.bulletin_id == bulletin.id)))
    assert {measure_id("eu_safety_gate", k) for k in COFFEE_POTS} <= stored  # each one is recorded as sent


def test_a_zh_item_opens_in_chinese_and_says_why_plainly(
    db_session: Session, alert_settings: Settings, coffee_pots: list[dict[str, Any]]
) -> None:
    subscribe(db_session, "appliances@example.com", language="zh", sectors="household_appliances")
    subscribe(db_session, "appliances-en@example.com", language="en", sectors="household_appliances")
    assert compose_bulletins(alert_settings, now=NOW).bulletins == 2
    zh = _bulletin(db_session, "zh")
    for body in (zh.text, zh.html):
        assert "咖啡壶 · 塞浦路斯 · 召回：烧烫伤 · 严重风险" in body  # the opening line, product first
        assert "您订阅了「家用电器」；该召回涉及咖啡壶，危害：烧烫伤" in body
        assert "内容与已归入该行业的「Coffee maker」相近" in body  # evidence as a sentence
        for label in ENGLISH_LABELS:
            assert label not in body.replace("&#39;", "'"), label
    first_line = zh.text.split("1. ", 1)[1].splitlines()[0]
    assert "Coffee pot" not in first_line  # the Chinese line comes first, the original title after it
    en = _bulletin(db_session, "en")
    assert "Burns · serious" in en.text  # the English edition keeps the source's words
    assert "Coffee pot · Cyprus · recall: Burns · serious" in en.text  # its opening line in English
