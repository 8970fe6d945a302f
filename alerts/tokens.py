"""Signed, time-limited link tokens for subscribers (confirm, manage, unsubscribe).

A token is HMAC-signed (itsdangerous, SHA-256) with a key derived from ``TBT_SECRET_KEY`` and the
subscriber's own ``token_secret``; it carries the subscriber id and ``token_generation`` and is bound
to one purpose (the purpose is the salt, so a manage token never unsubscribes). A new
``token_secret`` (alerts.lifecycle.revoke_links) withdraws every link of that one subscriber and no
other; a subscriber who takes a deleted subscriber's id (SQLite reuses ids) has another secret, so
the old links never open the new subscriber (review M6). Tampered, expired, revoked or wrong-purpose
tokens raise :class:`TokenError`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Protocol

from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from schema.models import Subscriber
from tbt_alert.errors import TokenError
from tbt_alert.settings import Settings

# How long a link stays valid. The unsubscribe link sits in every mail a subscriber keeps, so it
# lives longest (RFC 8058 asks for one-click unsubscription to keep working); a confirmation link
# is only useful right after sign-up.
MAX_AGE_SECONDS = {
    "confirm": 7 * 86400,
    "manage": 90 * 86400,
    "unsubscribe": 365 * 86400,
}
PURPOSES = tuple(MAX_AGE_SECONDS)


class TokenHolder(Protocol):
    id: int
    token_generation: int
    token_secret: str | None


def _subscriber_key(settings: Settings, token_secret: str | None) -> str:
    """The signing key of one subscriber's links.

    HMAC of the subscriber's secret under the global key: both are needed to sign, so neither a
    leaked database row nor a leaked global key alone forges a link. ``None`` is a subscriber from
    before migration 0006, whose links were signed with the global key itself."""
    if not token_secret:
        return settings.secret_key
    message = b"tbt-alert.subscriber-link." + token_secret.encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _serializer(settings: Settings, purpose: str, token_secret: str | None) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE_SECONDS:
        raise ValueError(f"token purpose {purpose!r} is unknown; use one of {', '.join(PURPOSES)}")
    return URLSafeTimedSerializer(
        _subscriber_key(settings, token_secret),
        salt=f"tbt-alert.{purpose}",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def make_token(settings: Settings, subscriber: TokenHolder, purpose: str) -> str:
    """A URL-safe token for ``subscriber`` that :func:`verify_token` accepts for ``purpose``.

    The subscriber must be flushed: its ``token_secret`` is set by the database default."""
    if subscriber.id is None:
        raise ValueError("a link token needs a stored subscriber; flush the session first")
    serializer = _serializer(settings, purpose, subscriber.token_secret)
    return str(serializer.dumps([subscriber.id, subscriber.token_generation or 0]))


def _payload(payload: Any, purpose: str) -> tuple[int, int]:
    if not (isinstance(payload, list) and len(payload) == 2 and all(type(x) is int for x in payload)):
        raise TokenError(f"This {purpose} link is not valid; use the link from your latest mail.")
    return payload[0], payload[1]


def claimed_subscriber_id(settings: Settings, token: str, purpose: str) -> int:
    """The subscriber id a token *claims*, read before its signature can be checked (the key depends
    on the subscriber). Only for picking the key: trust nothing until :func:`verify_token` passed."""
    try:
        _, payload = _serializer(settings, purpose, None).loads_unsafe(token)
    except (BadData, ValueError, TypeError):  # attacker input: anything undecodable is an invalid link
        payload = None
    return _payload(payload, purpose)[0]


def verify_token(
    settings: Settings, token: str, purpose: str, *, session: Session | None = None, max_age: int | None = None
) -> int:
    """The subscriber id of a valid, unexpired, unrevoked ``purpose`` token; raises TokenError otherwise."""
    if session is None:
        from schema.engine import engine_scope, session_factory

        # Read only: a plain session (no commit), unlike session_for.
        with engine_scope(settings) as engine, session_factory(engine)() as own:
            return _verify(settings, own, token, purpose, max_age)
    return _verify(settings, session, token, purpose, max_age)


def _verify(settings: Settings, session: Session, token: str, purpose: str, max_age: int | None) -> int:
    subscriber_id = claimed_subscriber_id(settings, token, purpose)
    subscriber = session.get(Subscriber, subscriber_id)
    # One message for "no such subscriber" and "bad signature": a link says nothing about who exists.
    invalid = (
        f"This {purpose} link is not valid (altered, withdrawn or for another purpose); "
        "use the link from your latest mail."
    )
    if subscriber is None:
        raise TokenError(invalid)
    serializer = _serializer(settings, purpose, subscriber.token_secret)
    try:
        payload = serializer.loads(token, max_age=max_age if max_age is not None else MAX_AGE_SECONDS[purpose])
    except SignatureExpired:
        raise TokenError(f"This {purpose} link has expired; ask for a new one from the subscription page.") from None
    except BadSignature:
        raise TokenError(invalid) from None
    signed_id, generation = _payload(payload, purpose)
    if signed_id != subscriber_id or (subscriber.token_generation or 0) != generation:
        raise TokenError(f"This {purpose} link has been withdrawn; use the link from your latest mail.")
    return subscriber_id
