"""A subscriber's life: double opt-in confirmation, confirm, unsubscribe (at once), revoke links.

The portal calls :func:`confirm` and :func:`unsubscribe` with the token from the link; a
tampered, expired or revoked token raises :class:`tbt_alert.errors.TokenError` and changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from alerts.links import confirm_url
from alerts.outbox import enqueue_mail
from alerts.render import render_confirmation
from alerts.tokens import verify_token
from schema.models import Delivery, Subscriber, Subscription, new_token_secret, utcnow
from tbt_alert.errors import TokenError
from tbt_alert.settings import Settings


def request_confirmation(session: Session, settings: Settings, subscriber: Subscriber) -> Delivery:
    """Queue the double opt-in mail with a signed confirm link."""
    subject, html, text = render_confirmation(
        settings, email=subscriber.email, language=subscriber.language, confirm_url=confirm_url(settings, subscriber)
    )
    return enqueue_mail(
        session,
        recipient=subscriber.email,
        subject=subject,
        text=text,
        html=html,
        purpose="confirm",
        subscriber_id=subscriber.id,
        settings=settings,
    )


def _subscriber(session: Session, settings: Settings, token: str, purpose: str) -> Subscriber:
    subscriber_id = verify_token(settings, token, purpose, session=session)
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:  # verify_token checked it exists; deleted in between
        raise TokenError(f"This {purpose} link belongs to a subscription that no longer exists.")
    return subscriber


def confirm(session: Session, settings: Settings, token: str, *, now: dt.datetime | None = None) -> Subscriber:
    """Mark the subscriber confirmed (idempotent); a confirm link also undoes an earlier unsubscribe."""
    subscriber = _subscriber(session, settings, token, "confirm")
    if not subscriber.confirmed or subscriber.unsubscribed_at is not None:
        subscriber.confirmed = True
        subscriber.confirmed_at = now or utcnow()
        subscriber.unsubscribed_at = None
        for sub in subscriber.subscriptions:
            sub.active = True
    session.flush()
    return subscriber


def unsubscribe(session: Session, settings: Settings, token: str, *, now: dt.datetime | None = None) -> Subscriber:
    """Stop every bulletin at once: subscriptions off, queued bulletins cancelled. Idempotent."""
    subscriber = _subscriber(session, settings, token, "unsubscribe")
    unsubscribe_subscriber(session, subscriber, now=now)
    return subscriber


def unsubscribe_subscriber(session: Session, subscriber: Subscriber, *, now: dt.datetime | None = None) -> None:
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now or utcnow()
    session.execute(update(Subscription).where(Subscription.subscriber_id == subscriber.id).values(active=False))
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber.id, Delivery.purpose == "bulletin", Delivery.status == "pending")
        .values(status="cancelled", last_error="subscriber unsubscribed")
    )
    session.flush()


def revoke_links(session: Session, subscriber: Subscriber) -> None:
    """Invalidate every confirm/manage/unsubscribe link of this subscriber issued so far (e.g. after a
    leaked mail): a new per-subscriber secret, so no other subscriber's links change."""
    subscriber.token_generation = (subscriber.token_generation or 0) + 1
    subscriber.token_secret = new_token_secret()
    session.flush()
