"""Subscriber links are signed per subscriber (review M6, the full fix): revoking one subscriber's
links leaves every other link working, and a link never opens a subscriber who took the id of a
deleted one (SQLite reuses ids)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from alerts.lifecycle import revoke_links
from alerts.tokens import make_token, verify_token
from schema.engine import make_engine, session_factory
from schema.models import Subscriber
from tbt_alert.errors import TokenError
from tbt_alert.settings import Settings


def _subscriber(session: object, email: str) -> Subscriber:
    subscriber = Subscriber(email=email, language="zh")
    session.add(subscriber)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return subscriber


def test_revoking_one_subscribers_links_leaves_the_others_working(
    db_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(TBT_DATABASE_URL=db_url)
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        a, b = _subscriber(session, "a@example.com"), _subscriber(session, "b@example.com")
        session.commit()
        assert a.token_secret
        assert b.token_secret
        assert a.token_secret != b.token_secret
        links = {(s.id, p): make_token(settings, s, p) for s in (a, b) for p in ("manage", "unsubscribe")}
        secret_of_b = b.token_secret

        revoke_links(session, a)
        session.commit()

        for (subscriber_id, purpose), token in links.items():
            if subscriber_id == a.id:
                with pytest.raises(TokenError, match="not valid"):
                    verify_token(settings, token, purpose, session=session)
            else:
                assert verify_token(settings, token, purpose, session=session) == b.id
        assert b.token_secret == secret_of_b
        fresh = make_token(settings, a, "manage")
        assert verify_token(settings, fresh, "manage", session=session) == a.id
    engine.dispose()


def test_a_deleted_subscribers_link_never_opens_the_subscriber_who_takes_its_id(
    sqlite_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Within the same second too: the portal's issued-before-created check cannot tell those apart."""
    settings = make_settings(TBT_DATABASE_URL=sqlite_url)
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as session:
        gone = _subscriber(session, "gone@example.com")
        session.commit()
        old_links = {p: make_token(settings, gone, p) for p in ("confirm", "manage", "unsubscribe")}
        old_id = gone.id
        session.delete(gone)
        session.commit()
        newcomer = _subscriber(session, "new@example.com")
        session.commit()
        assert newcomer.id == old_id  # SQLite reused the id: the case the secret is for
        assert newcomer.token_generation == 0
        for purpose, token in old_links.items():
            with pytest.raises(TokenError):
                verify_token(settings, token, purpose, session=session)
    engine.dispose()


def test_a_subscriber_from_before_the_secret_keeps_its_links_until_they_are_revoked(
    sqlite_url: str, make_settings: Callable[..., Settings]
) -> None:
    """Migration 0006 leaves existing subscribers without a secret: the links in their mails (an
    unsubscribe link lives a year) keep working; revoking them gives the subscriber a secret."""
    settings = make_settings(TBT_DATABASE_URL=sqlite_url)
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as session:
        old = _subscriber(session, "old@example.com")
        old.token_secret = None
        session.commit()
        link = make_token(settings, old, "unsubscribe")
        assert verify_token(settings, link, "unsubscribe", session=session) == old.id

        revoke_links(session, old)
        session.commit()

        assert session.scalar(select(Subscriber.token_secret).where(Subscriber.id == old.id))
        with pytest.raises(TokenError):
            verify_token(settings, link, "unsubscribe", session=session)
    engine.dispose()


def test_a_link_signed_with_the_global_key_alone_is_refused(
    sqlite_url: str, make_settings: Callable[..., Settings]
) -> None:
    """A token forged with only TBT_SECRET_KEY (say, from a leaked key without the database) fails."""
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    settings = make_settings(TBT_DATABASE_URL=sqlite_url)
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as session:
        subscriber = _subscriber(session, "c@example.com")
        session.commit()
        forged = URLSafeTimedSerializer(
            settings.secret_key, salt="tbt-alert.manage", signer_kwargs={"digest_method": hashlib.sha256}
        ).dumps([subscriber.id, 0])
        with pytest.raises(TokenError, match="not valid"):
            verify_token(settings, str(forged), "manage", session=session)
        for garbage in ("", "x", "a.b.c", "W10.AAAA.BBBB", forged + "x"):
            with pytest.raises(TokenError):
                verify_token(settings, garbage, "manage", session=session)
    engine.dispose()
