"""PostgreSQL goes away for a few seconds in the middle of a crawl and again in the middle of
tagging (our own throwaway cluster, stopped with ``pg_ctl -m fast`` and started again). The
stage fails or copes; retried the way the orchestrator retries a task, it ends with exactly
what an undisturbed run stores: same measures, same sector tags, no half-written batch, no
crawl run left 'running'.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from pipeline import stages
from schema.engine import make_engine, session_scope
from schema.migrate import upgrade
from schema.models import SectorTag
from tbt_alert.errors import TbtError
from tbt_alert.settings import Settings
from tests.reliability.conftest import crawl_runs, measure_ids
from tests.reliability.services import ThrowawayPostgres
from tests.reliability.snapshots import manifest, safety_gate_snapshot
from tests.tables import table_counts

pytestmark = pytest.mark.slow

REPORTS = [r for r in manifest() if r.published.year >= 2020 and 40 <= r.notifications <= 130][:20]
OUTAGE_SECONDS = 5
TRIES = 3  # the DAG's tasks: one try and two retries
RETRY_DELAY = 2 * OUTAGE_SECONDS  # the DAG waits 5 minutes; a retry must outlast the outage here too


def _tags(settings: Settings) -> list[tuple[str, str, str]]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            rows = session.execute(
                select(SectorTag.measure_id, SectorTag.sector, SectorTag.method).order_by(
                    SectorTag.measure_id, SectorTag.sector, SectorTag.method
                )
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        engine.dispose()


def _with_retries(stage: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``stage`` like a task with retries; return its result and the errors of failed tries."""
    errors: list[str] = []
    for _ in range(TRIES):
        try:
            return stage(), errors
        except (TbtError, DBAPIError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            time.sleep(RETRY_DELAY)
    raise AssertionError(f"still failing after {TRIES} tries: {errors}")


def _outage_during(
    stage: Callable[[], Any], ready: Callable[[], bool], cluster: ThrowawayPostgres
) -> tuple[Any, list[str]]:
    """Start ``stage`` (with retries) in a thread; once ``ready()``, take PostgreSQL away for a while."""
    result: list[tuple[Any, list[str]]] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(_with_retries(stage))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            failure.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 300
    while not ready():
        assert worker.is_alive(), f"the stage finished before the outage: {result or failure}"
        assert time.monotonic() < deadline, "the stage never got going"
        time.sleep(0.2)
    cluster._ctl("-m", "fast", "stop")  # ends every session, like a restart does
    time.sleep(OUTAGE_SECONDS)
    cluster.start()
    worker.join(timeout=600)
    if failure:
        raise failure[0]
    return result[0]


def test_postgresql_restarts_during_crawl_and_tagging_leave_no_partial_rows(
    throwaway_pg: ThrowawayPostgres, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    replay = tmp_path / "replay"
    safety_gate_snapshot(replay, REPORTS)
    url = throwaway_pg.create_database("tbt_reliability")
    upgrade(url)
    settings = make_settings(TBT_DATABASE_URL=url, TBT_CLASSIFIER_MODE="rules")
    reference = make_settings(TBT_DATA_DIR=str(tmp_path / "reference"), TBT_CLASSIFIER_MODE="rules")
    stages.crawl_source(reference, "eu_safety_gate", replay_dir=replay)
    stages.classify(reference, limit=None)
    expected = table_counts(reference)

    crawled, crawl_errors = _outage_during(
        lambda: stages.crawl_source(settings, "eu_safety_gate", replay_dir=replay),
        lambda: table_counts(settings)["measures"] > 0,
        throwaway_pg,
    )

    runs = crawl_runs(settings)
    assert "running" not in {status for _, status, _, _ in runs}, runs
    assert crawled["status"] == "success", (crawled, crawl_errors, runs)
    # A retry re-reads what an interrupted try stored; it counts as unchanged, not new again.
    assert sum(new for _, _, new, _ in runs) == expected["measures"]
    assert measure_ids(settings) == measure_ids(reference)

    tagged, tag_errors = _outage_during(
        lambda: stages.classify(settings),
        lambda: table_counts(settings)["tagged"] > 0,
        throwaway_pg,
    )

    assert tagged["remaining"] == 0
    assert tag_errors, "tagging never noticed the outage"
    assert any("connection" in e.lower() or "terminat" in e.lower() for e in tag_errors), tag_errors
    counts = table_counts(settings)
    for name in ("measures", "revisions", "tagged", "sector_tags", "quarantined"):
        assert counts[name] == expected[name], (name, counts, expected)
    assert _tags(settings) == _tags(reference)
