"""The stage functions: schedules, due sources, once-only crawls and mails, demo subscribers."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.outcome import CrawlOutcome
from crawlers.sources import load_sources
from devtools.smtp_sink import SmtpSink
from pipeline import stages
from pipeline.bookkeeping import claim, recall
from pipeline.operator_alerts import suspicious_crawl
from schema.engine import make_engine, session_scope
from schema.models import CrawlRun, Subscriber
from tbt_alert.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# The shipped recordings: crawlers/sources/<id>/recorded/ (crawlers.run.replay_folder finds them).
REPLAY = REPO_ROOT / "crawlers" / "sources"
BROKEN_REPLAY = REPO_ROOT / "tests" / "fixtures" / "pipeline" / "broken_replay"
UTC = dt.UTC


@pytest.mark.parametrize(
    ("schedule", "at", "slot"),
    [
        ("@daily", dt.datetime(2025, 11, 21, 13, 5, tzinfo=UTC), dt.datetime(2025, 11, 21, tzinfo=UTC)),
        ("@daily", dt.datetime(2025, 11, 21, tzinfo=UTC), dt.datetime(2025, 11, 21, tzinfo=UTC)),  # on the slot
        ("@hourly", dt.datetime(2025, 11, 21, 13, 59, 59, tzinfo=UTC), dt.datetime(2025, 11, 21, 13, tzinfo=UTC)),
        ("@weekly", dt.datetime(2025, 11, 21, 13, 5, tzinfo=UTC), dt.datetime(2025, 11, 16, tzinfo=UTC)),  # Sunday
        ("0 6 * * 1", dt.datetime(2025, 11, 24, 5, 0, tzinfo=UTC), dt.datetime(2025, 11, 17, 6, tzinfo=UTC)),
    ],
)
def test_schedule_slot_is_the_latest_firing_at_or_before(schedule: str, at: dt.datetime, slot: dt.datetime) -> None:
    assert stages.schedule_slot(schedule, at) == slot


def test_report_period_is_the_iso_week_the_interval_starts_in() -> None:
    assert stages.report_period(dt.datetime(2025, 11, 24, 6, tzinfo=UTC)) == "2025-W48"
    assert stages.report_period(dt.datetime(2021, 1, 2, tzinfo=UTC)) == "2020-W53"
    # Monday 06:00 in Zhejiang is Sunday 22:00 UTC: the week is Zhejiang's.
    assert stages.report_period(dt.datetime(2025, 11, 16, 22, tzinfo=UTC)) == "2025-W47"


def _add_run(settings: Settings, source_id: str, started: dt.datetime, status: str) -> None:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            session.add(CrawlRun(source_id=source_id, started_at=started, finished_at=started, status=status))
    finally:
        engine.dispose()


def test_due_sources_follow_schedules_and_the_crawl_log(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    stages.sync_sources(settings)
    enabled = sorted(c.id for c in load_sources().values() if c.enabled)
    at = dt.datetime(2025, 11, 21, 13, 5, tzinfo=UTC)
    assert sorted(stages.due_sources(settings, at=at)) == enabled  # never crawled: all due

    daily = [c for c in load_sources().values() if c.enabled and c.schedule == "@daily"]
    assert len(daily) >= 3, "the test needs three enabled daily sources"
    done, failed, stale = daily[0].id, daily[1].id, daily[2].id
    slot = stages.schedule_slot("@daily", at)
    _add_run(settings, done, slot + dt.timedelta(minutes=10), "success")
    _add_run(settings, failed, slot + dt.timedelta(minutes=10), "failed")  # a failure leaves it due
    _add_run(settings, stale, slot - dt.timedelta(minutes=10), "success")  # crawled for yesterday's slot

    due = stages.due_sources(settings, at=at)
    assert done not in due
    assert failed in due
    assert stale in due
    # A partial crawl stored what it could: it counts as done for the slot.
    _add_run(settings, failed, slot + dt.timedelta(minutes=20), "partial")
    assert failed not in stages.due_sources(settings, at=at)


def test_due_sources_with_a_replay_folder_only_offer_recorded_sources(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    shutil.copytree(REPLAY / "au_accc" / "recorded", tmp_path / "au_accc")
    assert stages.due_sources(settings, replay_dir=tmp_path) == ["au_accc"]


def test_crawl_source_crawls_once_per_slot(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    stages.sync_sources(settings)
    at = dt.datetime.now(UTC)

    first = stages.crawl_source(settings, "au_accc", at=at, replay_dir=REPLAY)
    again = stages.crawl_source(settings, "au_accc", at=at, replay_dir=REPLAY)

    assert first["status"] == "success"
    assert first["new"] == first["seen"] > 0
    json.dumps(first)  # a task result must be JSON
    assert again["status"] == "skipped"
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            assert len(session.scalars(select(CrawlRun)).all()) == 1
    finally:
        engine.dispose()


def test_crawl_source_raises_on_a_failed_crawl_so_the_task_retries(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    stages.sync_sources(settings)
    with pytest.raises(stages.CrawlFailed, match="us_cpsc.*not a JSON array"):
        stages.crawl_source(settings, "us_cpsc", replay_dir=BROKEN_REPLAY)

    # crawl_sources (the CLI's sequential run) records the failure and goes on with the next source.
    shutil.copytree(BROKEN_REPLAY / "us_cpsc", tmp_path / "us_cpsc")
    shutil.copytree(REPLAY / "au_accc" / "recorded", tmp_path / "au_accc")
    results = stages.crawl_sources(settings, ["us_cpsc", "au_accc"], replay_dir=tmp_path)
    assert [(r["source_id"], r["status"]) for r in results] == [("us_cpsc", "failed"), ("au_accc", "success")]


def _outcome(run_id: int, seen: int) -> CrawlOutcome:
    return CrawlOutcome(
        run_id=run_id,
        source_id="au_accc",
        status="success",
        seen=seen,
        new=seen,
        changed=0,
        unchanged=0,
        rejected=0,
        suspicious=True,
        error=None,
    )


def test_suspicious_crawl_mails_the_operator_once(make_settings: Callable[..., Settings], smtp_sink: SmtpSink) -> None:
    settings = make_settings(TBT_SMTP_PORT=str(smtp_sink.port), TBT_OPERATOR_EMAIL="ops@example.com")

    assert suspicious_crawl(settings, _outcome(7, 0), (1, 500)) is True
    assert suspicious_crawl(settings, _outcome(7, 0), (1, 500)) is False  # same crawl run: no second mail
    assert suspicious_crawl(settings, _outcome(8, 0), (1, 500)) is True

    mails = smtp_sink.messages()
    assert [m["To"] for m in mails] == ["ops@example.com", "ops@example.com"]
    assert mails[0]["Subject"] == "[tbt-alert operator] crawl of au_accc saw 0 records (expected 1-500)"
    body = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "crawlers/sources/au_accc/au_accc.yml" in body


def test_no_operator_address_means_no_mail(make_settings: Callable[..., Settings], smtp_sink: SmtpSink) -> None:
    settings = make_settings(TBT_SMTP_PORT=str(smtp_sink.port), TBT_OPERATOR_EMAIL="")
    assert suspicious_crawl(settings, _outcome(9, 0), (1, 500)) is False
    assert smtp_sink.messages() == []


def test_demo_subscribers_are_constructed_confirmed_and_added_once(make_settings: Callable[..., Settings]) -> None:
    meta = json.loads((stages.DEMO_SUBSCRIBERS.parent / "meta.json").read_text())
    assert meta["constructed"] is True
    settings = make_settings()

    assert stages.demo_subscribers(settings) == {"added": 5, "subscriptions": 5}
    assert stages.demo_subscribers(settings)["added"] == 0

    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            subscribers = session.scalars(select(Subscriber)).all()
            assert len(subscribers) == 5
            assert all(s.confirmed and s.email.endswith("@example.com") for s in subscribers)
            assert sum(len(s.subscriptions) for s in subscribers) == 5
    finally:
        engine.dispose()


def test_claim_is_once_only(sqlite_engine: Any) -> None:
    with session_scope(sqlite_engine) as session:
        assert claim(session, "k/1", {"a": 1}) is True
        assert claim(session, "k/1", {"a": 2}) is False
    with session_scope(sqlite_engine) as session:
        assert recall(session, "k/1") == {"a": 1}
        assert recall(session, "k/2") is None


def test_weekly_report_is_mailed_to_the_analysts_once(
    make_settings: Callable[..., Settings], smtp_sink: SmtpSink
) -> None:
    settings = make_settings(TBT_SMTP_PORT=str(smtp_sink.port), TBT_ANALYST_EMAILS="a1@example.com, a2@example.com")
    report = stages.build_recall_risk_report(settings, period="2025-W48")
    assert report["period"] == "2025-W48"
    json.dumps(report)

    first = stages.mail_report(settings, report)
    again = stages.mail_report(settings, stages.build_recall_risk_report(settings, period="2025-W48"))

    assert first["queued"] == 2
    assert again["queued"] == 0
    mails = smtp_sink.messages()
    assert sorted(m["To"] for m in mails) == ["a1@example.com", "a2@example.com"]
    attached = sorted(str(part.get_filename()) for part in mails[0].iter_attachments())
    assert attached == ["recall-risk_2025-W48.html", "recall-risk_2025-W48.pdf"]
