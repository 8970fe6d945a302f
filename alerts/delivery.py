"""Send the outbox over SMTP: at most once per delivery, with retries, backoff and a rate limit.

Exactly-once is impossible over SMTP (RFC 1047): if we crash after the server accepted a message
and before we record it, nothing tells us whether it went. Our policy is **at most once**:

1. MAIL FROM and RCPT TO are sent first; failures there are harmless (nothing was handed over).
2. Right before DATA the row is claimed: ``status='sending'``, ``attempts+1``, ``next_attempt_at`` =
   the claim time, committed. The claim is a conditional UPDATE, so two senders never both own it.
3. After the server's reply the row becomes ``sent`` (2xx), ``pending`` with a backoff (4xx,
   connection lost before the reply — the server has not accepted it, RFC 5321 4.1.1.4), or
   ``failed`` (5xx, or ``smtp_max_attempts`` reached), with the error recorded.
4. A row still ``sending`` when a later run starts (after :data:`SENDING_LEASE`) means a sender
   died inside step 2-3: the message may have been accepted. It is **not** resent; it is marked
   ``failed`` with an ``uncertain:`` error for the operator, who can requeue it after checking the
   relay's log (``tbt-alert bulletins requeue ID``). A missing bulletin is followed up by the
   next bulletin's "closing soon" reminders; a duplicate cannot be taken back.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from alerts.links import unsubscribe_url
from alerts.outbox import build_mime, stamp
from schema.engine import engine_scope, session_factory
from schema.models import Bulletin, Delivery, Subscriber
from tbt_alert.clock import as_utc
from tbt_alert.errors import DeliveryError
from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_BASE = dt.timedelta(minutes=1)  # relays typically lift a greylisting or 421 within minutes
BACKOFF_CAP = dt.timedelta(hours=2)
SENDING_LEASE = dt.timedelta(minutes=10)  # far longer than one SMTP transaction (timeout 60 s)
SMTP_TIMEOUT = 60
UNCERTAIN = "uncertain"


@dataclass
class SendOutcome:
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    cancelled: int = 0
    uncertain: int = 0  # found still 'sending' from an interrupted run; not resent
    connection_error: str | None = None
    errors: list[str] = field(default_factory=list)


class _Temporary(Exception):
    """A failure worth retrying (4xx, connection trouble before the server accepted the message)."""


class _Permanent(Exception):
    """A failure that retrying will not fix (5xx)."""


def backoff(attempts: int) -> dt.timedelta:
    factor: int = 2 ** max(attempts - 1, 0)  # typeshed types int ** int as Any (a negative power is a float)
    return min(BACKOFF_BASE * factor, BACKOFF_CAP)


def bulletin_message(
    settings: Settings, delivery: Delivery, bulletin: Bulletin, subscriber: Subscriber | None
) -> EmailMessage:
    msg = build_mime(recipient=delivery.recipient, subject=bulletin.subject, text=bulletin.text, html=bulletin.html)
    msg["Content-Language"] = "zh-CN" if bulletin.language == "zh" else "en"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "bulk"
    if subscriber is not None:
        # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to this URL.
        msg["List-Unsubscribe"] = f"<{unsubscribe_url(settings, subscriber)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["List-Id"] = f"tbt-alert bulletins <bulletins.{settings.mail_from.rsplit('@', 1)[-1].rstrip('>')}>"
    return msg


def message_for(session: Session, settings: Settings, delivery: Delivery) -> EmailMessage | None:
    """The MIME message of a delivery; None when it must not go (subscriber unsubscribed meanwhile)."""
    if delivery.bulletin_id is not None:
        bulletin = session.get(Bulletin, delivery.bulletin_id)
        subscriber = session.get(Subscriber, delivery.subscriber_id) if delivery.subscriber_id else None
        if bulletin is None or (subscriber is not None and subscriber.unsubscribed_at is not None):
            return None
        msg = bulletin_message(settings, delivery, bulletin, subscriber)
    else:
        if not delivery.body:
            raise DeliveryError(f"delivery {delivery.id} has neither a bulletin nor a body; cancel it")
        parsed = email.message_from_string(delivery.body, policy=SMTP)
        assert isinstance(parsed, EmailMessage)
        msg = parsed
    return stamp(msg, settings=settings, message_id=delivery.message_id)


class _Connection:
    """One SMTP session, opened lazily and reopened after the server drops it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        s = self.settings
        try:
            if s.smtp_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls()
                smtp.ehlo()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP server {s.smtp_host}:{s.smtp_port} refused the login ({exc.smtp_code}); "
                "check TBT_SMTP_USER and TBT_SMTP_PASSWORD."
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _Temporary(f"cannot connect to SMTP server {s.smtp_host}:{s.smtp_port}: {exc}") from None
        self.smtp = smtp
        return smtp

    def drop(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            except OSError:
                pass
        self.smtp = None

    def quit(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self.smtp = None


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        message = f"{exc.smtp_code} {text}".strip()
        return _Temporary(message) if 400 <= exc.smtp_code < 500 else _Permanent(message)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        message = "; ".join(f"{code} {msg!r}" for code, msg in exc.recipients.values())
        return _Temporary(message) if all(400 <= c < 500 for c in codes) else _Permanent(message)
    return _Temporary(f"{type(exc).__name__}: {exc}")


def recover_interrupted(session: Session, now: dt.datetime) -> int:
    """Mark rows left 'sending' by a dead sender as failed-uncertain (never resent automatically)."""
    stale = session.scalars(
        select(Delivery).where(
            Delivery.status == "sending",
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at < now - SENDING_LEASE),
        )
    ).all()
    for row in stale:
        claimed = row.next_attempt_at
        row.status = "failed"
        row.last_error = (
            f"{UNCERTAIN}: the sender stopped while handing this message to the SMTP server "
            f"(claimed {claimed.isoformat() if claimed else 'at an unknown time'}); it may have been delivered, "
            "so it is not resent; check the relay log, then `tbt-alert bulletins requeue "
            f"{row.id}` if it did not go."
        )
        log.warning("delivery %s to %s: %s", row.id, row.recipient, row.last_error)
    session.commit()
    return len(stale)


def send_pending(
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    limit: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendOutcome:
    """Send every due pending delivery once. ``now`` decides which rows are due (tests move it)."""
    now = as_utc(now or dt.datetime.now(dt.UTC))
    outcome = SendOutcome()
    connection = _Connection(settings)  # opens nothing until the first mail
    interval = 1.0 / settings.smtp_rate_per_second
    last_start = 0.0
    try:
        with engine_scope(settings) as engine, session_factory(engine)() as session:
            outcome.uncertain = recover_interrupted(session, now)
            query = (
                select(Delivery.id)
                .where(
                    Delivery.status == "pending",
                    or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                )
                .order_by(Delivery.id)
            )
            if limit:
                query = query.limit(limit)
            ids = list(session.scalars(query))
            for delivery_id in ids:
                wait = last_start + interval - time.monotonic()
                if wait > 0:
                    sleep(wait)
                last_start = time.monotonic()
                result = _send_one(session, settings, connection, delivery_id, now)
                if result == "sent":
                    outcome.sent += 1
                elif result == "cancelled":
                    outcome.cancelled += 1
                elif result.startswith("failed"):
                    outcome.failed += 1
                elif result.startswith("retry"):
                    outcome.retry_later += 1
                if result.endswith("-connection"):
                    # The server is unreachable: the other rows keep their attempts for a later run.
                    outcome.connection_error = session.get(Delivery, delivery_id).last_error  # type: ignore[union-attr]
                    break
    finally:
        connection.quit()
    return outcome


def _send_one(session: Session, settings: Settings, connection: _Connection, delivery_id: int, now: dt.datetime) -> str:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return "skipped"
    msg = message_for(session, settings, delivery)
    if msg is None:
        delivery.status = "cancelled"
        delivery.last_error = "subscriber unsubscribed before it was sent"
        session.commit()
        return "cancelled"
    sender = settings.mail_from.rsplit("<", 1)[-1].rstrip(">")
    claimed = False
    try:
        try:
            smtp = connection.open()
        except _Temporary as exc:
            _record_failure(
                session,
                delivery,
                str(exc),
                temporary=True,
                now=now,
                count_attempt=True,
                max_attempts=settings.smtp_max_attempts,
            )
            session.commit()
            return "failed-connection" if delivery.status == "failed" else "retry-connection"
        try:
            code, resp = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            code, resp = smtp.rcpt(delivery.recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({delivery.recipient: (code, resp)})
            # Claim the row right before DATA (see the module docstring): from here on a crash leaves
            # 'sending', which no later run resends.
            claim = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery.id, Delivery.status == "pending")
                .values(status="sending", attempts=Delivery.attempts + 1, next_attempt_at=now)
            )
            session.commit()
            if claim.rowcount != 1:  # type: ignore[attr-defined]
                smtp.rset()
                return "skipped"
            claimed = True
            session.refresh(delivery)
            code, resp = smtp.data(msg.as_bytes(policy=SMTP))
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            failure = _classify(exc)
            if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421 and connection.smtp:
                try:
                    connection.smtp.rset()
                except (smtplib.SMTPException, OSError):
                    connection.drop()
            else:
                connection.drop()  # 421 or a lost connection: the server has closed its side
            _record_failure(
                session,
                delivery,
                str(failure),
                temporary=isinstance(failure, _Temporary),
                now=now,
                count_attempt=not claimed,
                max_attempts=settings.smtp_max_attempts,
            )
            session.commit()
            return "failed" if delivery.status == "failed" else "retry"
        delivery.status = "sent"
        delivery.sent_at = dt.datetime.now(dt.UTC)
        delivery.last_error = None
        delivery.next_attempt_at = None
        session.commit()
        log.info("sent delivery %s (%s) to %s", delivery.id, delivery.purpose, delivery.recipient)
        return "sent"
    except BaseException:
        session.rollback()
        raise


def _record_failure(
    session: Session,
    delivery: Delivery,
    error: str,
    *,
    temporary: bool,
    now: dt.datetime,
    count_attempt: bool,
    max_attempts: int,
) -> None:
    if count_attempt:
        delivery.attempts = (delivery.attempts or 0) + 1
    delivery.last_error = error[:2000]
    if temporary and delivery.attempts < max_attempts:
        delivery.status = "pending"
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    else:
        delivery.status = "failed"
        delivery.next_attempt_at = None
        if temporary:
            delivery.last_error = f"gave up after {delivery.attempts} attempts: {delivery.last_error}"
    log.warning("delivery %s to %s: %s (%s)", delivery.id, delivery.recipient, error, delivery.status)
