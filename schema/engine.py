"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from tbt_alert.settings import Settings


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            # A new folder for the database is its owner's alone (password hashes, subscribers; review L5).
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # SQLite ignores foreign keys unless asked; WAL lets the portal read while a crawl writes.
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)  # survive a PostgreSQL restart between tasks
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def engine_scope(database: str | Settings | Engine, **kwargs: Any) -> Iterator[Engine]:
    """An engine for a database URL (or ``settings.database_url``), disposed on the way out.

    Given an :class:`Engine`, yields it unchanged and leaves it open: whoever made it (a test,
    the portal, a caller batching several stages) owns its pool and disposes it.
    """
    if isinstance(database, Engine):
        yield database
        return
    url = database if isinstance(database, str) else database.database_url
    engine = make_engine(url, **kwargs)
    try:
        yield engine
    finally:
        # Each stage runs in its own short-lived task: close the pool's connections now
        # rather than leave them to the garbage collector (PostgreSQL counts them).
        engine.dispose()


@contextmanager
def session_for(database: str | Settings | Engine) -> Iterator[Session]:
    """A :func:`session_scope` session on :func:`engine_scope`'s engine: commits on success,
    rolls back on any error, then disposes the engine (unless the caller passed its own)."""
    with engine_scope(database) as engine, session_scope(engine) as session:
        yield session
