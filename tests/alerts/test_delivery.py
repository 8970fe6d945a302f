"""Delivery through real SMTP servers on loopback: the aiosmtpd sink, and a faulty one."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.compose import compose_bulletins
from alerts.delivery import send_pending
from alerts.lifecycle import unsubscribe
from alerts.tokens import verify_token
from devtools.processes import free_port
from schema.models import Delivery
from tbt_alert.settings import Settings
from tests.alerts.conftest import NOW, constructed, real_records, store, subscribe
from tests.alerts.faulty_smtp import FaultySmtp

REPO = Path(__file__).resolve().parents[2]
XSS_TITLE = '<script>alert("x")</script> Toy {{ 7*7 }} <img src=x onerror=alert(1)>'


def _composed(session: Session, settings: Settings, *, language: str = "zh") -> Delivery:
    records = real_records()
    hostile = constructed("XSS-1", title=XSS_TITLE, country="RUS", why="a hostile title for the escaping test")
    records.append(hostile)
    store(session, records)
    from schema.ids import measure_id
    from schema.models import SectorTag

    session.add(
        SectorTag(
            measure_id=measure_id("wto_eping", "XSS-1"),
            sector="toys",
            score=0.9,
            method="rule",
            evidence={},
            classifier_version="test",
            created_at=NOW - dt.timedelta(hours=12),
        )
    )
    session.commit()
    subscribe(session, "buyer@example.com", language=language, sectors="toys;auto_parts")
    assert compose_bulletins(settings, now=NOW).bulletins == 1
    return session.scalars(select(Delivery)).one()


def _parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def test_bulletin_arrives_complete_and_inert(db_session: Session, alert_settings: Settings, smtp_sink: Any) -> None:
    delivery = _composed(db_session, alert_settings)
    outcome = send_pending(alert_settings, now=NOW)
    assert outcome.sent == 1
    [msg] = smtp_sink.messages()
    db_session.refresh(delivery)
    assert delivery.status == "sent"
    assert delivery.attempts == 1
    assert msg["Message-ID"] == delivery.message_id
    assert msg["To"] == "buyer@example.com"
    assert msg["From"] == alert_settings.mail_from
    assert str(msg["Subject"]).startswith("【TBT预警】2026-07-19")
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_link = str(msg["List-Unsubscribe"]).strip("<>")
    assert unsubscribe_link.startswith("https://tbt.example.org/subscriptions/unsubscribe?token=")
    token = parse_qs(urlparse(unsubscribe_link).query)["token"][0]
    assert verify_token(alert_settings, token, "unsubscribe", session=db_session) == delivery.subscriber_id

    text, html = _parts(msg)
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            assert part.get_content_charset() == "utf-8"
    raw = msg.as_bytes()
    assert "技术性贸易措施预警".encode() not in raw  # encoded for transport (base64 / quoted-printable)
    for body in (text, html):
        assert "技术性贸易措施预警" in body
        assert "评议截止" in body
        assert "GCC Technical regulation for" in body
        assert "剩 12 天" in body  # comments due 2026-08-01, composed 2026-07-20
        assert "{{ 7*7 }}" in body  # never evaluated
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert XSS_TITLE in text  # plain text carries it verbatim, which is inert in text/plain
    assert 'src="http' not in html  # no external images or scripts
    assert "<link" not in html
    assert "https://tbt.example.org/subscriptions/manage?token=" in html
    assert "https://tbt.example.org/subscriptions/manage?token=" in text
    assert 'href="https://docs.wto.org/imrd/directdoc.asp?DDFDocuments/T/G/TBTN26/ARE703.docx"' in html


def test_english_bulletin(db_session: Session, alert_settings: Settings, smtp_sink: Any) -> None:
    _composed(db_session, alert_settings, language="en")
    send_pending(alert_settings, now=NOW)
    [msg] = smtp_sink.messages()
    text, html = _parts(msg)
    assert str(msg["Subject"]).startswith("[TBT alert] 2026-07-19")
    assert "Comments due" in html
    assert "12 days left" in text
    assert "Chinese gist" in html  # the gist stays Chinese and says it is not a translation
    assert "巴林" in html or "科威特" in html  # the Chinese gist names the notifying member


def test_rerunning_compose_and_send_sends_nothing_new(
    db_session: Session, alert_settings: Settings, smtp_sink: Any
) -> None:
    _composed(db_session, alert_settings)
    assert send_pending(alert_settings, now=NOW).sent == 1
    assert compose_bulletins(alert_settings, now=NOW).bulletins == 0
    assert send_pending(alert_settings, now=NOW).sent == 0
    assert send_pending(alert_settings, now=NOW + dt.timedelta(hours=3)).sent == 0
    assert len(smtp_sink.messages()) == 1


def test_unsubscribe_takes_effect_at_once(db_session: Session, alert_settings: Settings, smtp_sink: Any) -> None:
    from alerts.links import unsubscribe_url

    delivery = _composed(db_session, alert_settings)
    from schema.models import Subscriber

    subscriber = db_session.get_one(Subscriber, delivery.subscriber_id)
    token = parse_qs(urlparse(unsubscribe_url(alert_settings, subscriber)).query)["token"][0]
    unsubscribe(db_session, alert_settings, token)
    db_session.commit()
    assert send_pending(alert_settings, now=NOW).sent == 0
    db_session.refresh(delivery)
    assert delivery.status == "cancelled"
    assert smtp_sink.messages() == []
    assert compose_bulletins(alert_settings, now=NOW + dt.timedelta(days=1)).due == 0


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings], db_url: str) -> Callable[..., Settings]:
    def factory(port: int, **env: str) -> Settings:
        return make_settings(
            TBT_DATABASE_URL=db_url,
            TBT_SMTP_PORT=str(port),
            TBT_SMTP_RATE="1000",
            TBT_PORTAL_BASE_URL="https://tbt.example.org",
            **env,
        )

    return factory


def test_connection_refused_retries_with_backoff_then_gives_up(
    db_session: Session, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(free_port(), TBT_SMTP_MAX_ATTEMPTS="2")
    delivery = _composed(db_session, settings)
    first = send_pending(settings, now=NOW)
    assert (first.sent, first.retry_later) == (0, 1)
    assert first.connection_error is not None
    db_session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "cannot connect" in (delivery.last_error or "")
    assert send_pending(settings, now=NOW + dt.timedelta(seconds=30)).retry_later == 0  # backoff: not due yet
    second = send_pending(settings, now=NOW + dt.timedelta(minutes=2))
    assert second.failed == 1
    db_session.refresh(delivery)
    assert delivery.status == "failed"
    assert delivery.attempts == 2
    assert (delivery.last_error or "").startswith("gave up after 2 attempts")


@pytest.mark.parametrize("mode", ["greet421", "rcpt450", "data421", "drop_in_data"])
def test_temporary_failures_are_retried_and_delivered_once(
    mode: str, db_session: Session, settings_for: Callable[..., Settings], smtp_sink: Any
) -> None:
    with FaultySmtp(mode) as faulty:
        settings = settings_for(faulty.port)
        delivery = _composed(db_session, settings)
        outcome = send_pending(settings, now=NOW)
        assert outcome.retry_later == 1
        assert faulty.accepted == []
    db_session.refresh(delivery)
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    message_id = delivery.message_id
    # The relay is healthy again: the same message (same Message-ID) goes exactly once.
    healthy = settings_for(smtp_sink.port)
    assert send_pending(healthy, now=NOW + dt.timedelta(minutes=2)).sent == 1
    assert send_pending(healthy, now=NOW + dt.timedelta(hours=5)).sent == 0
    [msg] = smtp_sink.messages()
    assert msg["Message-ID"] == message_id
    db_session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_permanent_rejection_is_not_retried(db_session: Session, settings_for: Callable[..., Settings]) -> None:
    with FaultySmtp("data550") as faulty:
        settings = settings_for(faulty.port)
        delivery = _composed(db_session, settings)
        assert send_pending(settings, now=NOW).failed == 1
        assert send_pending(settings, now=NOW + dt.timedelta(hours=1)).failed == 0
        assert faulty.connections == 1
    db_session.refresh(delivery)
    assert delivery.status == "failed"
    assert (delivery.last_error or "").startswith("550")


CRASH_AFTER_ACCEPT = """
import datetime as dt, os, smtplib, sys
from alerts.delivery import send_pending
from tbt_alert.settings import load_settings

original = smtplib.SMTP.data
def data_then_die(self, msg):
    reply = original(self, msg)
    os._exit(17)  # the process dies after the server accepted, before the row is updated
smtplib.SMTP.data = data_then_die
send_pending(load_settings(), now=dt.datetime.fromisoformat(sys.argv[1]))
"""


def test_crash_after_the_server_accepted_never_resends(
    db_session: Session, settings_for: Callable[..., Settings], smtp_sink: Any
) -> None:
    settings = settings_for(smtp_sink.port)
    delivery = _composed(db_session, settings)
    env = {**os.environ, **settings.extra, "PYTHONPATH": str(REPO)}
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_ACCEPT, NOW.isoformat()],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 17, crashed.stderr
    assert len(smtp_sink.messages()) == 1
    db_session.refresh(delivery)
    assert delivery.status == "sending"
    # Reruns never send it again: first while the claim is fresh, then after the lease runs out.
    assert send_pending(settings, now=NOW + dt.timedelta(minutes=1)).sent == 0
    later = send_pending(settings, now=NOW + dt.timedelta(minutes=30))
    assert (later.sent, later.uncertain) == (0, 1)
    assert send_pending(settings, now=NOW + dt.timedelta(hours=3)).sent == 0
    assert len(smtp_sink.messages()) == 1
    db_session.refresh(delivery)
    assert delivery.status == "failed"
    assert (delivery.last_error or "").startswith("uncertain:")
