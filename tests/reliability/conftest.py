"""Fixtures for the fault-injection tests: throwaway Elasticsearch nodes and PostgreSQL
clusters (ours to kill), and the database/index counts the tests compare."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from schema.engine import make_engine, session_scope
from schema.models import (
    CrawlRun,
    Measure,
)
from tbt_alert.settings import Settings
from tests.reliability.services import ThrowawayElasticsearch, ThrowawayPostgres, service_folder

REPO_ROOT = Path(__file__).resolve().parents[2]
# The shipped recordings: crawlers/sources/<id>/recorded/ (crawlers.run.replay_folder finds them).
REPLAY = REPO_ROOT / "crawlers" / "sources"


@pytest.fixture
def throwaway_es() -> Iterator[Callable[..., ThrowawayElasticsearch]]:
    """``throwaway_es(data_dir=None, settings=None)`` -> a started node of our own; gone afterwards."""
    made: list[tuple[ThrowawayElasticsearch, Path]] = []

    def start(*, data_dir: Path | None = None, settings: dict[str, str] | None = None) -> ThrowawayElasticsearch:
        root = service_folder("tbt-rel-es-", None)
        node = ThrowawayElasticsearch(root, data_dir=data_dir, settings=settings)
        made.append((node, root))
        return node.start()

    yield start
    for node, root in made:
        node.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    """A started PostgreSQL cluster of our own on a free port; stopped and deleted afterwards."""
    root = service_folder("tbt-rel-pg-", None)
    cluster = ThrowawayPostgres(root)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def measure_ids(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            return list(session.scalars(select(Measure.id).order_by(Measure.id)))
    finally:
        engine.dispose()


def crawl_runs(settings: Settings) -> list[tuple[str, str, int, str | None]]:
    """(source, status, new, error) of every crawl run, oldest first."""
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            rows = session.execute(
                select(CrawlRun.source_id, CrawlRun.status, CrawlRun.new, CrawlRun.error_summary).order_by(CrawlRun.id)
            ).all()
            return [(r[0], r[1], r[2], r[3]) for r in rows]
    finally:
        engine.dispose()


# The DAG runner of the DAG tests (a child process per run with its own Airflow metadata database).
from tests.dags.conftest import airflow_state, run_dag  # noqa: E402, F401
