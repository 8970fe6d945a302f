"""Signed, time-limited link tokens for subscribers (confirm, manage, unsubscribe).

A token is HMAC-signed with ``TBT_SECRET_KEY`` (itsdangerous, SHA-256), carries the subscriber id
and the subscriber's ``token_generation``, and is bound to one purpose (the purpose is the salt, so
a manage token never unsubscribes). Bumping ``Subscriber.token_generation`` revokes every token
issued before. Tampered, expired, revoked or wrong-purpose tokens raise :class:`TokenError`.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
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


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE_SECONDS:
        raise ValueError(f"token purpose {purpose!r} is unknown; use one of {', '.join(PURPOSES)}")
    return URLSafeTimedSerializer(
        settings.secret_key, salt=f"tbt-alert.{purpose}", signer_kwargs={"digest_method": hashlib.sha256}
    )


def make_token(settings: Settings, subscriber: TokenHolder, purpose: str) -> str:
    """A URL-safe token for ``subscriber`` that :func:`verify_token` accepts for ``purpose``."""
    return str(_serializer(settings, purpose).dumps([subscriber.id, subscriber.token_generation or 0]))


def decode_token(settings: Settings, token: str, purpose: str, *, max_age: int | None = None) -> tuple[int, int]:
    """(subscriber id, token generation) from a valid signature; no database check."""
    serializer = _serializer(settings, purpose)
    try:
        payload = serializer.loads(token, max_age=max_age if max_age is not None else MAX_AGE_SECONDS[purpose])
    except SignatureExpired:
        raise TokenError(f"This {purpose} link has expired; ask for a new one from the subscription page.") from None
    except BadSignature:
        raise TokenError(
            f"This {purpose} link is not valid (altered or for another purpose); use the link from your latest mail."
        ) from None
    if not (isinstance(payload, list) and len(payload) == 2 and all(isinstance(x, int) for x in payload)):
        raise TokenError(f"This {purpose} link is not valid; use the link from your latest mail.")
    return payload[0], payload[1]


def verify_token(
    settings: Settings, token: str, purpose: str, *, session: Session | None = None, max_age: int | None = None
) -> int:
    """The subscriber id of a valid, unexpired, unrevoked ``purpose`` token; raises TokenError otherwise."""
    subscriber_id, generation = decode_token(settings, token, purpose, max_age=max_age)
    if session is None:
        from schema.engine import engine_scope, session_factory

        # Read only: a plain session (no commit), unlike session_for.
        with engine_scope(settings) as engine, session_factory(engine)() as own:
            return _check_generation(own, subscriber_id, generation, purpose)
    return _check_generation(session, subscriber_id, generation, purpose)


def _check_generation(session: Session, subscriber_id: int, generation: int, purpose: str) -> int:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or (subscriber.token_generation or 0) != generation:
        raise TokenError(f"This {purpose} link has been withdrawn; use the link from your latest mail.")
    return subscriber_id
