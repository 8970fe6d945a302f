"""Shared fixtures: fresh databases (SQLite and the real PostgreSQL), the real
Elasticsearch under a per-test prefix, and a real SMTP server on loopback.

A test that needs a service fails when the service is down: CI starts them all
(`make services`), and a silently skipped integration test would hide a broken build.
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from devtools.databases import admin_url, throwaway_database
from devtools.smtp_sink import SmtpSink
from schema.engine import make_engine, session_factory
from schema.migrate import upgrade
from tbt_alert.settings import Settings, load_settings
from tests.paths import SHARED_DATA

log = logging.getLogger("tests")

TEST_SECRET = "test-secret-key-not-for-production-0123456789"
_RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count()


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"tbt-alert test run {_RUN_ID}; shared data: {SHARED_DATA}"]


# A test's service needs follow from the fixtures it uses (directly or through others), so the
# fast lane (`make test-fast`, `-m "not elasticsearch and not postgresql"`) leaves out a new
# service test by itself instead of relying on a hand-kept list of folders.
_SERVICE_FIXTURES = {"es": "elasticsearch", "postgres_template": "postgresql"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _SERVICE_FIXTURES.items():
            if fixture in used:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The recorded real source data beside the project (read-only)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: tests read recorded source data from ../shared/data")
    return SHARED_DATA


# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database; each test clones it (fast) instead of migrating."""
    admin = admin_url()
    engine = make_engine(admin)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
    except Exception as exc:  # noqa: BLE001 - turn any connection failure into a clear failure
        pytest.fail(f"PostgreSQL at {admin} is not reachable ({exc}); start it with `make services`.")
    finally:
        engine.dispose()
    log.warning("PostgreSQL server version %s", version)
    name = f"tbt_tpl_{_RUN_ID}"
    with throwaway_database(name) as url:
        upgrade(url)
        yield name


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated database on the real PostgreSQL server, dropped afterwards."""
    with throwaway_database(f"tbt_t_{_RUN_ID}_{next(_counter)}", template=postgres_template) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tbt-test.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database: the same test runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    sess = session_factory(engine)()
    yield sess
    sess.rollback()
    sess.close()


# ---------------------------------------------------------------- Elasticsearch


@pytest.fixture(scope="session")
def es_url() -> str:
    return os.environ.get("TBT_ELASTICSEARCH_URL", "http://127.0.0.1:9200")


@pytest.fixture(scope="session")
def es(es_url: str):
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, request_timeout=30)
    try:
        nodes = client.nodes.info(node_id="_local", filter_path="nodes.*.version")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Elasticsearch at {es_url} is not reachable ({exc}); start it with `make services`.")
    version = next(iter(nodes["nodes"].values()))["version"]
    log.warning("Elasticsearch server version %s", version)
    yield client
    client.close()


@pytest.fixture
def index_prefix(es) -> Iterator[str]:
    """A prefix unique to this test; every index and alias under it is deleted afterwards."""
    prefix = f"tbt-test-{_RUN_ID}-{next(_counter)}"
    yield prefix
    # Exact names only: list what exists under our own unique prefix, then delete those.
    found = es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all")
    for name in found:
        es.indices.delete(index=name, ignore_unavailable=True)


# ---------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """A real SMTP server on a free loopback port storing mail in a maildir."""
    with SmtpSink(tmp_path / "maildir") as sink:
        yield sink


# ---------------------------------------------------------------- settings


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: data in tmp_path, SQLite there unless overridden."""

    def factory(**overrides: str) -> Settings:
        env = {
            "TBT_DATA_DIR": str(tmp_path / "data"),
            "TBT_SECRET_KEY": TEST_SECRET,
            "TBT_SMTP_HOST": "127.0.0.1",
        }
        if "TBT_ENCODER_PATH" in os.environ:
            env["TBT_ENCODER_PATH"] = os.environ["TBT_ENCODER_PATH"]
        env.update(overrides)
        settings = load_settings(env)
        if "TBT_DATABASE_URL" not in overrides:
            upgrade(settings.database_url)
        return settings

    return factory
