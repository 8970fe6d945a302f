"""Models, migrations and the upsert helper on SQLite and on the real PostgreSQL."""

import datetime as dt

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schema.engine import engine_scope, make_engine, session_for
from schema.ids import measure_id
from schema.migrate import current_revision, downgrade, head_revision, upgrade
from schema.models import Base, CrawlRun, Measure, MeasureRevision, SectorTag, Source, Subscriber, Subscription
from schema.upsert import UpsertCounts, store_measures, upsert


def _source(session: Session) -> None:
    session.add(Source(id="eu_safety_gate", name="Safety Gate", kind="recall", jurisdiction="EUR"))
    session.flush()


def _recall(key: str, title: str, **extra: object) -> dict[str, object]:
    return {"source_id": "eu_safety_gate", "source_key": key, "kind": "recall", "title": title, **extra}


def test_migration_creates_every_model_table_and_round_trips(db_url: str) -> None:
    assert current_revision(db_url) == head_revision()
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    downgrade(db_url, "base")
    engine = make_engine(db_url)
    assert set(Base.metadata.tables).isdisjoint(inspect(engine).get_table_names())
    engine.dispose()
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()


def test_downgrade_and_upgrade_keep_rows_that_reference_a_rebuilt_table(db_url: str) -> None:
    """On SQLite a migration that drops a column copies the table and drops the old one; with
    foreign keys on, that drop cascaded and deleted every subscription (review finding)."""
    from sqlalchemy import text

    engine = make_engine(db_url)
    with session_for(engine) as session:
        session.add(Subscriber(email="buyer@example.com", subscriptions=[Subscription(sectors=["toys"])]))
        session.commit()
    engine.dispose()
    downgrade(db_url, "0005_cited_standards")  # drops subscribers.token_secret
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM subscribers")) == 1
        assert connection.scalar(text("SELECT count(*) FROM subscriptions")) == 1
        if db_url.startswith("sqlite"):
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()


def test_migration_matches_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_store_measures_counts_inserted_changed_unchanged(session: Session) -> None:
    _source(session)
    first = store_measures(session, [_recall("A12/0001/25", "Toy car"), _recall("A12/0002/25", "Doll")])
    assert first == UpsertCounts(inserted=2, changed=0, unchanged=0)
    again = store_measures(session, [_recall("A12/0001/25", "Toy car"), _recall("A12/0002/25", "Doll")])
    assert again == UpsertCounts(inserted=0, changed=0, unchanged=2)
    changed = store_measures(session, [_recall("A12/0001/25", "Toy car (phthalates)"), _recall("A12/0003/25", "Kite")])
    assert changed == UpsertCounts(inserted=1, changed=1, unchanged=0)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Measure)) == 3


def test_a_change_keeps_the_previous_revision_and_queues_retagging(session: Session) -> None:
    _source(session)
    store_measures(session, [_recall("A12/0001/25", "Toy car", hs_codes=["9503"])])
    mid = measure_id("eu_safety_gate", "A12/0001/25")
    session.get_one(Measure, mid).tagged_version = "v1"
    session.flush()
    store_measures(session, [_recall("A12/0001/25", "Toy car, recalled", hs_codes=["9503"])])
    session.commit()
    measure = session.get_one(Measure, mid)
    assert measure.revision == 2
    assert measure.title == "Toy car, recalled"
    assert measure.tagged_version is None
    revisions = session.scalars(select(MeasureRevision).where(MeasureRevision.measure_id == mid)).all()
    assert [(r.revision, r.content["title"]) for r in revisions] == [(1, "Toy car")]


def test_same_record_twice_in_a_batch_is_stored_once(session: Session) -> None:
    _source(session)
    counts = store_measures(session, [_recall(" A12/0009/25", "Lamp"), _recall("A12/0009/25 ", "Lamp")])
    assert counts.inserted == 1
    assert session.scalar(select(func.count()).select_from(Measure)) == 1


def test_measure_ids_are_stable_and_key_whitespace_insensitive() -> None:
    assert measure_id("wto_eping", " G/TBT/N/EU/1234") == measure_id("wto_eping", "G/TBT/N/EU/1234")
    assert measure_id("wto_eping", "G/TBT/N/EU/1234") != measure_id("wto_eping", "G/TBT/N/EU/1234/Add.1")
    assert measure_id("a", "k") == "a-" + measure_id("a", "k").split("-", 1)[1]


def test_unknown_field_is_refused(session: Session) -> None:
    _source(session)
    with pytest.raises(ValueError, match="unknown measure field"):
        store_measures(session, [_recall("X", "t", colour="red")])


def test_generic_upsert_reports_counts(session: Session) -> None:
    rows = [{"id": "s1", "name": "One", "kind": "recall", "jurisdiction": "USA"}]
    assert upsert(session, Source, rows) == UpsertCounts(1, 0, 0)
    assert upsert(session, Source, rows) == UpsertCounts(0, 0, 1)
    assert upsert(session, Source, [{**rows[0], "name": "Uno"}]) == UpsertCounts(0, 1, 0)
    session.commit()
    assert session.get_one(Source, "s1").name == "Uno"


def test_constraints_keep_data_consistent(engine: Engine, session: Session) -> None:
    _source(session)
    store_measures(session, [_recall("K1", "t")])
    session.commit()
    session.add(
        SectorTag(
            measure_id=measure_id("eu_safety_gate", "K1"),
            sector="toys",
            score=1.0,
            method="hs",
            classifier_version="v1",
        )
    )
    session.add(
        SectorTag(
            measure_id=measure_id("eu_safety_gate", "K1"),
            sector="toys",
            score=0.9,
            method="hs",
            classifier_version="v1",
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(SectorTag(measure_id="no-such-measure", sector="toys", score=1.0, method="hs", classifier_version="v1"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_subscriber_cascade_and_dates_round_trip(session: Session) -> None:
    subscriber = Subscriber(email="exporter@example.com", language="zh")
    subscriber.subscriptions.append(Subscription(sectors=["toys"], countries=["RUS"], frequency="weekly"))
    session.add(subscriber)
    _source(session)
    store_measures(session, [_recall("D1", "Dated", comment_deadline=dt.date(2026, 2, 1))])
    session.commit()
    assert session.get_one(Measure, measure_id("eu_safety_gate", "D1")).comment_deadline == dt.date(2026, 2, 1)
    session.delete(subscriber)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_session_for_commits_rolls_back_and_disposes_its_engine(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    disposed: list[Engine] = []
    original = Engine.dispose

    def spy(self: Engine, close: bool = True) -> None:
        disposed.append(self)
        original(self, close)

    monkeypatch.setattr(Engine, "dispose", spy)
    with session_for(sqlite_url) as session:
        _source(session)

    def fail_after_adding() -> None:
        with session_for(sqlite_url) as session:
            session.add(Source(id="other", name="Other", kind="recall", jurisdiction="USA"))
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        fail_after_adding()
    assert len(disposed) == 2
    engine = make_engine(sqlite_url)
    with engine_scope(engine) as same, session_for(same) as session:
        assert same is engine
        assert list(session.scalars(select(Source.id))) == ["eu_safety_gate"]
    assert len(disposed) == 2  # an engine the caller passed in stays the caller's to dispose
    engine.dispose()


def test_timestamps_read_back_as_aware_utc(session: Session) -> None:
    # SQLite has no time zones: without UtcDateTime it would hand back naive values (and keep
    # another zone's wall-clock time as it was given).
    _source(session)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    run = CrawlRun(
        source_id="eu_safety_gate",
        status="success",
        started_at=dt.datetime(2025, 1, 2, 3, 4, tzinfo=shanghai),
        finished_at=dt.datetime(2025, 1, 2, 3, 5),  # naive: taken as UTC
    )
    session.add(run)
    session.commit()
    session.expire_all()
    stored = session.get_one(CrawlRun, run.id)
    assert stored.started_at == dt.datetime(2025, 1, 1, 19, 4, tzinfo=dt.UTC)
    assert stored.started_at.utcoffset() == dt.timedelta(0)
    assert stored.finished_at == dt.datetime(2025, 1, 2, 3, 5, tzinfo=dt.UTC)
    latest = session.scalar(select(func.max(CrawlRun.started_at)))
    assert latest == stored.started_at
    assert latest is not None
    assert latest.utcoffset() == dt.timedelta(0)
