"""Throwaway databases on the local PostgreSQL server, for tests and experiment scripts.

The server is the one ``devtools.services`` starts (or the one ``TBT_TEST_POSTGRES_URL`` names, as
in CI). Statements run as the admin user with autocommit, since CREATE and DROP DATABASE cannot run
inside a transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from devtools.services import postgres_url


def admin_url() -> str:
    """The URL of the server's ``postgres`` database, where databases are created and dropped."""
    return os.environ.get("TBT_TEST_POSTGRES_URL", postgres_url())


def with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    return url.rsplit("/", 1)[0] + f"/{name}"


def admin_execute(sql: str) -> None:
    """Run one statement on the admin database, outside any transaction."""
    engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@contextmanager
def throwaway_database(name: str, *, template: str | None = None, keep: bool = False) -> Iterator[str]:
    """Create database ``name`` (a copy of ``template`` if given), yield its URL, and drop it afterwards
    (even while clients are still connected) unless ``keep`` asks to leave it for a look."""
    admin_execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield with_database(admin_url(), name)
    finally:
        if not keep:
            admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
