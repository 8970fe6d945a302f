"""Column types that read back the same values from SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from tbt_alert.clock import as_utc


class UtcDateTime(TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` that always reads back an aware UTC datetime.

    PostgreSQL's timestamptz returns aware values (in the session's time zone) but SQLite has
    no time zones and returns naive ones; every timestamp we store is UTC, so a naive value
    read back is UTC. Writing converts aware values to UTC (SQLite would otherwise keep another
    zone's wall-clock time) and takes naive ones as UTC. The DDL is the migrations' plain
    ``DateTime(timezone=True)``, so this type needs no migration (and autogenerate writes the
    plain type, see schema/migrations/env.py).

    Values that bypass the column type (``text()`` queries, raw DB-API cursors) are not
    converted: read timestamps through the models or a ``select()`` of their columns.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else as_utc(value)
