"""Matching and composition on SQLite and PostgreSQL, with real measures and test-made tags."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.compose import compose_bulletins, period_for
from schema.ids import measure_id
from schema.models import Bulletin, BulletinItem, Delivery, Measure, Subscriber
from tbt_alert.countries import is_bri
from tbt_alert.settings import Settings
from tests.alerts.conftest import NOW, SEEN_AT, constructed, measure_by_key, real_records, store, subscribe

MALAWI = "DMS 2097:2024, Washable distemper – Specification"


def _items(session: Session, bulletin: Bulletin) -> dict[str, BulletinItem]:
    rows = session.scalars(select(BulletinItem).where(BulletinItem.bulletin_id == bulletin.id)).all()
    return {session.get_one(Measure, r.measure_id).source_key: r for r in rows}


def _bulletin(session: Session, email: str) -> Bulletin:
    """The subscriber's latest bulletin."""
    subscriber_id = session.scalars(select(Subscriber.id).where(Subscriber.email == email)).one()
    found = session.scalars(
        select(Bulletin).where(Bulletin.subscriber_id == subscriber_id).order_by(Bulletin.id.desc())
    ).first()
    assert found is not None, f"no bulletin for {email}"
    return found


def _naive(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive UTC datetimes, PostgreSQL aware ones."""
    return value.replace(tzinfo=None)


def test_periods_are_fixed_by_the_clock() -> None:
    now = dt.datetime(2026, 7, 22, 9, 30, 12, tzinfo=dt.UTC)  # a Wednesday
    assert period_for("daily", now, None) == (
        dt.datetime(2026, 7, 21, tzinfo=dt.UTC),
        dt.datetime(2026, 7, 22, tzinfo=dt.UTC),
    )
    assert period_for("weekly", now, None) == (
        dt.datetime(2026, 7, 13, tzinfo=dt.UTC),
        dt.datetime(2026, 7, 20, tzinfo=dt.UTC),
    )
    last = dt.datetime(2026, 7, 22, 8, 0, tzinfo=dt.UTC)
    assert period_for("immediate", now, last) == (last, dt.datetime(2026, 7, 22, 9, 30, tzinfo=dt.UTC))


def test_matching_gives_reasons_dedupes_sources_and_groups_follow_ups(
    db_session: Session, alert_settings: Settings
) -> None:
    records = real_records()
    malawi_id = measure_id("wto_eping", MALAWI)
    records.append(
        constructed(
            "G/TBT/N/MWI/TEST/Add.1",
            title="Addendum to DMS 2097:2024 (constructed)",
            country="MWI",
            parent_id=malawi_id,
            relation="addendum",
            distributed_on=dt.date(2026, 7, 18),
        )
    )
    store(db_session, records)
    subscribe(db_session, "toys@example.com", sectors="toys;auto_parts")
    subscribe(db_session, "paint@example.com", language="en", hs_prefixes="3210", keywords="phthalate")
    subscribe(db_session, "bri@example.com", countries="bri", kinds="tbt")
    subscribe(db_session, "strict@example.com", sectors="building_materials", min_relevance="0.5")
    subscribe(db_session, "unconfirmed@example.com", confirmed=False, sectors="toys")

    outcome = compose_bulletins(alert_settings, now=NOW)
    assert outcome.bulletins == 3  # strict: the only building tag scores 0.4; unconfirmed: no mail
    assert outcome.deliveries == 3

    toys = _bulletin(db_session, "toys@example.com")
    assert (_naive(toys.period_start), _naive(toys.period_end)) == (dt.datetime(2026, 7, 19), dt.datetime(2026, 7, 20))
    items = _items(db_session, toys)
    # One GCC notification listed under two members (real records 113917/113918): shown once, both stored.
    assert {"SR/04499/25", "113917", "113918"} == set(items)
    assert toys.html.count("GCC Technical regulation for") == 1
    assert "亦见于" in toys.html
    reasons = items["SR/04499/25"].reasons
    assert reasons[0]["type"] == "sector"
    assert reasons[0]["sector"] == "toys"
    assert reasons[0]["evidence"] == {"category": "Toys"}

    paint = _items(db_session, _bulletin(db_session, "paint@example.com"))
    assert set(paint) == {MALAWI, "G/TBT/N/MWI/TEST/Add.1", "SR/04442/25"}
    assert {"type": "hs", "prefix": "3210", "code": "3210"} in paint[MALAWI].reasons
    assert paint["SR/04442/25"].reasons[0]["type"] == "keyword"
    # The addendum borrows its parent's HS codes and sits under it in the mail.
    paint_bulletin = _bulletin(db_session, "paint@example.com")
    assert paint_bulletin.html.index("Washable distemper") < paint_bulletin.html.index("Follow-ups")
    assert paint_bulletin.html.index("Follow-ups") < paint_bulletin.html.index("Addendum to DMS 2097")

    bri = _items(db_session, _bulletin(db_session, "bri@example.com"))
    # Belt-and-Road members' TBT notifications only, as the country registry defines the group.
    expected = {
        r["source_key"]
        for r in records
        if r["kind"] == "tbt_notification" and r.get("country") and is_bri(r["country"])
    }
    assert expected
    assert set(bri) == expected
    assert all(any(r["type"] == "country" and r["group"] == "bri" for r in item.reasons) for item in bri.values())


def test_compose_is_idempotent_for_its_period(db_session: Session, alert_settings: Settings) -> None:
    store(db_session, real_records())
    subscribe(db_session, "toys@example.com", sectors="toys")
    first = compose_bulletins(alert_settings, now=NOW)
    again = compose_bulletins(alert_settings, now=NOW)
    assert (first.bulletins, again.bulletins, again.due) == (1, 0, 0)
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 1

    # Next day the toy alert is crawled again, unchanged: nothing new to say.
    next_day = NOW + dt.timedelta(days=1)
    toy = next(r for r in real_records() if r["source_key"] == "SR/04499/25")
    store(db_session, [toy], seen_at=SEEN_AT + dt.timedelta(days=1))
    assert compose_bulletins(alert_settings, now=next_day).bulletins == 0
    assert db_session.scalar(select(func.count()).select_from(Bulletin)) == 1


def test_changed_measure_reappears_as_changed(db_session: Session, alert_settings: Settings) -> None:
    store(db_session, real_records())
    subscribe(db_session, "toys@example.com", sectors="toys")
    assert compose_bulletins(alert_settings, now=NOW).bulletins == 1
    toy = next(r for r in real_records() if r["source_key"] == "SR/04499/25")
    toy["measures_taken"] = toy["measures_taken"] + " (constructed change for this test)"
    store(db_session, [toy], seen_at=SEEN_AT + dt.timedelta(days=1))
    outcome = compose_bulletins(alert_settings, now=NOW + dt.timedelta(days=1))
    assert outcome.bulletins == 1
    latest = _bulletin(db_session, "toys@example.com")
    assert _items(db_session, latest)["SR/04499/25"].section == "changed"


def test_closing_soon_reminds_once(db_session: Session, alert_settings: Settings) -> None:
    store(db_session, real_records())
    subscribe(db_session, "cars@example.com", sectors="auto_parts")
    assert compose_bulletins(alert_settings, now=NOW).bulletins == 1  # GCC eCall, comments due 2026-08-01
    later = dt.datetime(2026, 7, 25, 0, 5, tzinfo=dt.UTC)  # 7 days before the deadline, nothing new
    outcome = compose_bulletins(alert_settings, now=later)
    assert outcome.bulletins == 1
    reminder = _bulletin(db_session, "cars@example.com")
    sections = {i.section for i in _items(db_session, reminder).values()}
    assert sections == {"closing_soon"}
    assert "评议期将在 14 天内截止" in reminder.html
    assert "剩 7 天" in reminder.html
    assert compose_bulletins(alert_settings, now=later + dt.timedelta(days=1)).bulletins == 0  # once


def test_a_long_bulletin_lists_the_most_relevant_and_says_how_many_were_left_out(
    db_session: Session, make_settings: Any, db_url: str, smtp_sink: Any
) -> None:
    capped = make_settings(
        TBT_DATABASE_URL=db_url,
        TBT_SMTP_PORT=str(smtp_sink.port),
        TBT_BULLETIN_MAX_ITEMS="1",
        TBT_PORTAL_BASE_URL="https://tbt.example.org",
    )
    store(db_session, real_records())
    subscribe(db_session, "wide@example.com", language="en", sectors="toys;sports_leisure;chemicals_plastics")
    outcome = compose_bulletins(capped, now=NOW)
    assert outcome.bulletins == 1
    bulletin = _bulletin(db_session, "wide@example.com")
    assert len(bulletin.items) == 1
    # The toy alert's tag (0.95) beats the jump rope's (0.8) and the paint's (0.9 via HS, a different measure).
    assert measure_by_key(db_session, "SR/04499/25").id == bulletin.items[0].measure_id
    assert "more matching measures of this period are not listed (at most 1 per mail" in bulletin.text
    assert "not listed" in bulletin.html
