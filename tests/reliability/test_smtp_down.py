"""The SMTP relay is down while bulletins and an operator alert are due, then comes back:
every mail arrives exactly once. A real SMTP server (aiosmtpd) on a fixed loopback port is
simply not running during the outage, and is started on that port afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from devtools.processes import free_port
from devtools.smtp_sink import SmtpSink, read_maildir
from pipeline import stages
from pipeline.operator_alerts import alert_operator
from schema.engine import make_engine, session_scope
from schema.models import Delivery
from tbt_alert.settings import Settings
from tests.reliability.conftest import REPLAY

pytestmark = pytest.mark.slow


def _deliveries(settings: Settings) -> list[tuple[str, str, int]]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            rows = session.execute(select(Delivery.recipient, Delivery.status, Delivery.attempts).order_by(Delivery.id))
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        engine.dispose()


def test_mail_queued_while_the_relay_is_down_arrives_once_when_it_is_back(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    port = free_port(between=(20000, 30000))
    maildir = tmp_path / "maildir"
    settings = make_settings(TBT_SMTP_PORT=str(port), TBT_CLASSIFIER_MODE="rules")
    stages.sync_sources(settings)
    stages.demo_subscribers(settings)
    crawled = stages.crawl_sources(settings, ["au_accc", "eu_safety_gate", "us_cpsc"], replay_dir=REPLAY)
    assert {r["status"] for r in crawled} == {"success"}, crawled
    stages.classify(settings)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    composed = stages.compose(settings, now=now)
    assert composed["deliveries"] >= 3

    # The relay is down: nothing goes, nothing is lost, no message counts as sent.
    assert (
        alert_operator(
            settings,
            key="reliability/smtp-down",
            subject="constructed test alert",
            text="Sent while the relay is down (a test).",
        )
        is True
    )
    down = stages.deliver(settings, now=now)
    assert down["sent"] == 0
    assert "Connection refused" in (down["connection_error"] or ""), down
    queued = _deliveries(settings)
    assert len(queued) == composed["deliveries"] + 1
    assert {status for _, status, _ in queued} == {"pending"}
    assert read_maildir(maildir) == []

    # Still down an hour later: the retries wait; nothing is marked failed or sent.
    still_down = stages.deliver(settings, now=now + dt.timedelta(hours=1))
    assert still_down["sent"] == still_down["failed"] == 0
    assert {status for _, status, _ in _deliveries(settings)} == {"pending"}

    with SmtpSink(maildir, port=port):
        back = stages.deliver(settings, now=now + dt.timedelta(hours=3))
        again = stages.deliver(settings, now=now + dt.timedelta(hours=6))
        received = read_maildir(maildir)

    assert back["sent"] == len(queued)
    assert again["sent"] == 0
    assert {status for _, status, _ in _deliveries(settings)} == {"sent"}
    assert len(received) == len(queued)
    assert len({m["Message-ID"] for m in received}) == len(received)  # none twice
    assert sorted(m["To"] for m in received) == sorted(recipient for recipient, _, _ in queued)
    assert [m["Subject"] for m in received if m["To"] == settings.operator_email] == [
        "[tbt-alert operator] constructed test alert"
    ]
