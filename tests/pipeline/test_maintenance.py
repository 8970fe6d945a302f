"""Nightly maintenance: backup and restore (SQLite and PostgreSQL), raw-payload retention,
index consistency against the real Elasticsearch."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from pipeline import maintenance, stages
from schema.engine import make_engine, session_scope
from schema.models import Measure, MeasureRevision, QuarantinedRecord, Source
from schema.upsert import store_measures
from tbt_alert.settings import Settings

UTC = dt.UTC


def _source(session: Any) -> None:
    session.add(Source(id="test_source", name="Test source (constructed)", kind="recall", jurisdiction="EUR"))
    session.flush()


def _record(key: str, title: str, payload: str) -> dict[str, Any]:
    # Constructed test records: not from any publisher.
    return {"source_id": "test_source", "source_key": key, "kind": "recall", "title": title, "raw_payload": payload}


def _store(settings: Settings, records: list[dict[str, Any]], seen_at: dt.datetime | None = None) -> None:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            if session.get(Source, "test_source") is None:
                _source(session)
            store_measures(session, records, seen_at=seen_at)
    finally:
        engine.dispose()


def _titles(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            return sorted(session.scalars(select(Measure.title)))
    finally:
        engine.dispose()


def test_backup_and_restore_round_trip(db_url: str, make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings(TBT_DATABASE_URL=db_url)
    _store(settings, [_record("A-1", "first", "<a/>"), _record("A-2", "second", "<b/>")])

    backup = maintenance.backup_database(settings, destination=tmp_path / "backups", label="2025-11-21")
    assert backup.name == ("tbt-alert-2025-11-21.sqlite" if settings.is_sqlite else "tbt-alert-2025-11-21.pgdump")
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            session.execute(delete(Measure))
    finally:
        engine.dispose()
    assert _titles(settings) == []

    maintenance.restore_database(settings, backup)

    assert _titles(settings) == ["first", "second"]


def test_backup_of_the_same_night_replaces_it_and_old_ones_go(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    folder = tmp_path / "backups"
    for night in ("2025-11-18", "2025-11-19", "2025-11-20", "2025-11-20"):
        maintenance.backup_database(settings, destination=folder, label=night, keep=2)
    assert sorted(p.name for p in folder.iterdir()) == ["tbt-alert-2025-11-19.sqlite", "tbt-alert-2025-11-20.sqlite"]


def test_restore_refuses_a_backup_of_the_other_kind(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    wrong = tmp_path / "tbt-alert-x.pgdump"
    wrong.write_bytes(b"PGDMP")
    with pytest.raises(maintenance.BackupError, match="not a SQLite backup"):
        maintenance.restore_database(settings, wrong)
    with pytest.raises(maintenance.BackupError, match="does not exist"):
        maintenance.restore_database(settings, tmp_path / "missing.sqlite")


def test_prune_keeps_current_payloads_and_drops_old_superseded_ones(
    db_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(TBT_DATABASE_URL=db_url, TBT_RAW_RETENTION_DAYS="30")
    now = dt.datetime(2025, 11, 21, tzinfo=UTC)
    old, recent = now - dt.timedelta(days=100), now - dt.timedelta(days=3)
    _store(settings, [_record("K-1", "v1", "<v1/>"), _record("K-2", "w1", "<w1/>")], seen_at=old - dt.timedelta(days=1))
    _store(settings, [_record("K-1", "v2", "<v2/>")], seen_at=old)  # v1 superseded 100 days ago
    _store(settings, [_record("K-1", "v3", "<v3/>")], seen_at=recent)  # v2 superseded 3 days ago
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            session.add_all(
                [
                    QuarantinedRecord(
                        source_id="test_source", reason="bad", raw_payload="<q1/>", created_at=old, resolved=True
                    ),
                    QuarantinedRecord(
                        source_id="test_source", reason="bad", raw_payload="<q2/>", created_at=old, resolved=False
                    ),
                ]
            )
    finally:
        engine.dispose()

    first = maintenance.prune_raw_payloads(settings, now=now)
    again = maintenance.prune_raw_payloads(settings, now=now)

    assert first["pruned"] == {"revisions": 1, "quarantined": 1}
    assert again["pruned"] == {"revisions": 0, "quarantined": 0}
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            current = dict(session.execute(select(Measure.title, Measure.raw_payload)).all())
            revisions = dict(session.execute(select(MeasureRevision.revision, MeasureRevision.raw_payload)).all())
            quarantined = sorted((q.resolved, q.raw_payload) for q in session.scalars(select(QuarantinedRecord)))
            kept_content = session.scalar(select(func.count()).select_from(MeasureRevision))
    finally:
        engine.dispose()
    assert current == {"v3": "<v3/>", "w1": "<w1/>"}  # the newest revision keeps its payload, however old
    assert revisions == {1: None, 2: "<v2/>"}
    assert kept_content == 2  # the parsed content of every revision stays
    assert quarantined == [(False, "<q2/>"), (True, None)]


def test_check_index_rebuilds_only_when_database_and_index_differ(
    make_settings: Callable[..., Settings], index_prefix: str, es: Any
) -> None:
    from search.names import alias

    settings = make_settings(TBT_INDEX_PREFIX=index_prefix)
    _store(settings, [_record(f"R-{n}", f"recall {n}", "{}") for n in range(5)])
    stages.update_index(settings)

    in_step = maintenance.check_index(settings)
    assert in_step["diverged"] == []
    assert in_step["rebuilt"] is False

    # Lose a document behind the database's back.
    name = alias(settings, "measures")
    victim = es.search(index=name, size=1)["hits"]["hits"][0]["_id"]
    es.delete(index=name, id=victim, refresh=True)

    repaired = maintenance.check_index(settings)

    assert repaired["diverged"] == ["measures"]
    assert repaired["rebuilt"] is True
    assert repaired["counts_after"]["in_sync"] is True
    assert int(es.count(index=name)["count"]) == 5


def test_diverging_names_kinds_without_a_live_index() -> None:
    counts = {"database": {"measures": 3, "bulletins": 0}, "index": {"measures": None, "bulletins": 0}}
    assert maintenance.diverging(counts) == ["measures"]


def test_the_database_password_never_reaches_a_command_line() -> None:
    # Any local user can read a process's arguments (ps); libpq reads PGPASSWORD instead.
    from pipeline.maintenance import _libpq_env, _libpq_url

    url = "postgresql+psycopg://tbt:s3cr%40t@db.internal:5433/tbt"
    assert _libpq_url(url) == "postgresql://tbt@db.internal:5433/tbt"
    assert _libpq_env(url)["PGPASSWORD"] == "s3cr@t"
    assert "PGPASSWORD" not in _libpq_env("postgresql+psycopg://tbt@db.internal/tbt") or os.environ.get("PGPASSWORD")
