"""Fixtures of the alerts tests: real measures (tests/fixtures/alerts, copied with provenance from
../shared/data), sector tags the tests create, subscribers, and a clock fixed for the bulletin."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alerts.subscriptions import add_subscriber, add_subscription, criteria
from schema.engine import session_factory
from schema.ids import measure_id
from schema.models import Measure, SectorTag, Source, Subscriber
from schema.upsert import store_measures
from tbt_alert.countries import to_alpha3
from tbt_alert.settings import Settings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "alerts" / "measures.json"
SEEN_AT = dt.datetime(2026, 7, 19, 8, 0, tzinfo=dt.UTC)  # the crawl of the day
NOW = dt.datetime(2026, 7, 20, 0, 5, tzinfo=dt.UTC)  # compose just after midnight: period = 2026-07-19
DATE_FIELDS = ("distributed_on", "published_on", "comment_deadline", "adopted_on", "entry_into_force")

# Sector tags the tests assign (what the classifier would say), keyed by source key.
TAGS: dict[str, list[tuple[str, float, str, dict[str, Any]]]] = {
    "SR/04499/25": [("toys", 0.95, "rule", {"category": "Toys"})],
    "SR/04442/25": [("sports_leisure", 0.8, "model", {"text": "jump rope"}), ("chemicals_plastics", 0.6, "model", {})],
    "DMS 2097:2024, Washable distemper – Specification": [
        ("chemicals_plastics", 0.9, "hs", {"hs_codes": ["3210"]}),
        ("building_materials", 0.4, "model", {"text": "distemper"}),
    ],
    "113917": [("auto_parts", 0.9, "ics", {"ics_codes": ["43.020"]})],
    "113918": [("auto_parts", 0.9, "ics", {"ics_codes": ["43.020"]})],
}


def real_records() -> list[dict[str, Any]]:
    """The fixture records as Measure column values (country names resolved, dates parsed)."""
    records = []
    for raw in json.loads(FIXTURE.read_text(encoding="utf-8")):
        rec = dict(raw)
        rec["extra"] = {"provenance": rec.pop("provenance")}
        for name in ("notification_type", "notified_document"):
            if rec.get(name):
                rec["extra"][name] = rec.pop(name)
            else:
                rec.pop(name, None)
        rec["country"] = to_alpha3(rec.pop("country_name"))
        origin = rec.pop("country_of_origin_name", None)
        rec["country_of_origin"] = to_alpha3(origin) if origin and origin != "Unknown" else None
        for name in DATE_FIELDS:
            if rec.get(name):
                rec[name] = dt.date.fromisoformat(rec[name])
        records.append(rec)
    return records


def constructed(key: str, **fields: Any) -> dict[str, Any]:
    """A measure made up for a test (never presented as real: extra.constructed says so)."""
    why = fields.pop("why", "made up for an alerts test")
    base: dict[str, Any] = {"source_id": "wto_eping", "source_key": key, "kind": "tbt_notification", "language": "en"}
    base.update(fields)
    base["extra"] = {"constructed": True, "why": why}
    return base


def store(session: Session, records: list[dict[str, Any]], *, seen_at: dt.datetime = SEEN_AT) -> None:
    for source_id, kind in (("wto_eping", "notification"), ("eu_safety_gate", "recall")):
        if session.get(Source, source_id) is None:
            session.add(Source(id=source_id, name=source_id, kind=kind, jurisdiction="WTO"))
    session.flush()
    store_measures(session, records, seen_at=seen_at)
    for rec in records:
        mid = measure_id(rec["source_id"], rec["source_key"])
        have = {(t.sector, t.method) for t in session.scalars(select(SectorTag).where(SectorTag.measure_id == mid))}
        for sector, score, method, evidence in TAGS.get(rec["source_key"], []):
            if (sector, method) in have:
                continue
            session.add(
                SectorTag(
                    measure_id=mid,
                    sector=sector,
                    score=score,
                    method=method,
                    evidence=evidence,
                    classifier_version="test",
                    created_at=seen_at,
                )
            )
        session.execute(
            Measure.__table__.update().where(Measure.id == mid).values(tagged_version="test")  # type: ignore[attr-defined]
        )
    session.commit()


def subscribe(session: Session, email: str, *, language: str = "zh", confirmed: bool = True, **what: Any) -> Subscriber:
    subscriber = add_subscriber(session, email=email, language=language, confirmed=confirmed)
    add_subscription(session, subscriber, criteria(**what))
    session.commit()
    return subscriber


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as s:
        yield s


@pytest.fixture
def alert_settings(make_settings: Callable[..., Settings], db_url: str, smtp_sink: Any) -> Settings:
    return make_settings(
        TBT_DATABASE_URL=db_url,
        TBT_SMTP_PORT=str(smtp_sink.port),
        TBT_SMTP_RATE="1000",
        TBT_PORTAL_BASE_URL="https://tbt.example.org",
    )


def measure_by_key(session: Session, key: str) -> Measure:
    return session.scalars(select(Measure).where(Measure.source_key == key)).one()
