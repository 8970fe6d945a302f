"""Upserts that work the same on SQLite and PostgreSQL and say what they did.

Crawls are re-run all the time (hourly, retried, backfilled); storing must be
idempotent, and a change of content must be kept as a revision, never overwritten
silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from schema.ids import content_hash, measure_id
from schema.models import Measure, MeasureRevision, utcnow

# Bookkeeping columns: they change on every sighting and are not the measure's content.
_NOT_CONTENT = frozenset(
    {
        "id",
        "raw_payload",
        "content_hash",
        "revision",
        "first_seen",
        "last_seen",
        "last_changed",
        "tagged_version",
        "withdrawn",
        "parent_id",
    }
)
_MEASURE_COLUMNS = frozenset(c.key for c in inspect(Measure).mapper.column_attrs)
# SQLite allows 32766 bound parameters; stay well below for IN lists.
_BATCH = 500


@dataclass
class UpsertCounts:
    inserted: int = 0
    changed: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted, self.changed + other.changed, self.unchanged + other.unchanged
        )

    @property
    def total(self) -> int:
        return self.inserted + self.changed + self.unchanged


def _insert(session: Session, model: type[DeclarativeBase], rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, so a concurrent writer never makes us fail."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(model).on_conflict_do_nothing(), rows)
    elif dialect == "sqlite":
        session.execute(sqlite.insert(model).on_conflict_do_nothing(), rows)
    else:  # pragma: no cover - we only support the two
        raise RuntimeError(f"unsupported database dialect {dialect}; use SQLite or PostgreSQL")


def upsert(
    session: Session, model: type[DeclarativeBase], rows: Iterable[Mapping[str, Any]], *, key: str = "id"
) -> UpsertCounts:
    """Insert new rows, update rows whose values differ, leave the others; return counts."""
    counts = UpsertCounts()
    pending = {row[key]: dict(row) for row in rows}
    column = getattr(model, key)
    keys = list(pending)
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start : start + _BATCH]
        existing = {getattr(obj, key): obj for obj in session.scalars(select(model).where(column.in_(chunk)))}
        fresh = [pending[k] for k in chunk if k not in existing]
        _insert(session, model, fresh)
        counts.inserted += len(fresh)
        for k in chunk:
            obj = existing.get(k)
            if obj is None:
                continue
            row = pending[k]
            if any(getattr(obj, name) != value for name, value in row.items()):
                for name, value in row.items():
                    setattr(obj, name, value)
                counts.changed += 1
            else:
                counts.unchanged += 1
    session.flush()
    return counts


def measure_content(record: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a measure record that counts as its content (for hashing and revisions)."""
    return {k: _jsonable(v) for k, v in record.items() if k not in _NOT_CONTENT}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def prepare_measure(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record completed with its stable id and content hash; unknown fields are an error."""
    unknown = set(record) - _MEASURE_COLUMNS
    if unknown:
        raise ValueError(f"unknown measure field(s) {sorted(unknown)}; map them to Measure columns or to 'extra'")
    row = dict(record)
    row["id"] = measure_id(row["source_id"], row["source_key"])
    row["source_key"] = " ".join(str(row["source_key"]).split())
    row["content_hash"] = content_hash(measure_content(row))
    return row


def store_measures(
    session: Session, records: Sequence[Mapping[str, Any]], *, seen_at: dt.datetime | None = None
) -> UpsertCounts:
    """Upsert measures by their stable id; a changed content becomes a new revision.

    ``records`` hold Measure column values (at least ``source_id``, ``source_key``,
    ``kind``, ``title``). The previous content of a changed measure is kept in
    ``measure_revisions`` and the measure is queued for re-tagging.
    """
    now = seen_at or utcnow()
    counts = UpsertCounts()
    prepared: dict[str, dict[str, Any]] = {}
    for record in records:
        row = prepare_measure(record)
        prepared[row["id"]] = row  # the same record twice in one batch is stored once
    ids = list(prepared)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        existing = {m.id: m for m in session.scalars(select(Measure).where(Measure.id.in_(chunk)))}
        fresh = []
        for mid in chunk:
            row = prepared[mid]
            current = existing.get(mid)
            if current is None:
                row.setdefault("first_seen", now)
                row.update(last_seen=now, last_changed=now, revision=1)
                fresh.append(row)
            elif current.content_hash == row["content_hash"]:
                counts.unchanged += 1
            else:
                session.add(
                    MeasureRevision(
                        measure_id=mid,
                        revision=current.revision,
                        content_hash=current.content_hash,
                        content=measure_content({c: getattr(current, c) for c in _MEASURE_COLUMNS}),
                        raw_payload=current.raw_payload,
                        recorded_at=now,
                    )
                )
                for name, value in row.items():
                    if name != "id":
                        setattr(current, name, value)
                current.revision += 1
                current.last_changed = now
                current.last_seen = now
                current.tagged_version = None  # re-tag: the text may now say something else
                counts.changed += 1
        # Complete defaults the bulk insert would otherwise leave NULL.
        for row in fresh:
            for name in ("hs_codes", "ics_codes", "objectives", "keywords"):
                row.setdefault(name, [])
            row.setdefault("documents", {})
            row.setdefault("extra", {})
            row.setdefault("withdrawn", False)
        _insert_rows(session, fresh)
        counts.inserted += len(fresh)
        unchanged_ids = [
            mid for mid in chunk if mid in existing and existing[mid].content_hash == prepared[mid]["content_hash"]
        ]
        if unchanged_ids:
            session.execute(update(Measure).where(Measure.id.in_(unchanged_ids)).values(last_seen=now))
    session.flush()
    return counts


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    # executemany needs every row to carry the same keys.
    keys = set().union(*rows) if rows else set()
    _insert(session, Measure, [{k: row.get(k) for k in keys} for row in rows])
