"""Fixtures of the search tests: real measures in a database, and a live index over them.

``search_env`` is function-scoped (its own database and index prefix: for lifecycle tests that
change things); ``shared_index`` is built once per module for the read-only query tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from schema.engine import make_engine, session_scope
from schema.migrate import upgrade
from schema.models import SectorTag, Source
from schema.upsert import store_measures, upsert
from tbt_alert.settings import Settings, load_settings

DATA = Path(__file__).resolve().parent / "data" / "measures.json"
SOURCES = {
    "eu_safety_gate": ("EU Safety Gate", "recall", "EUR"),
    "us_cpsc": ("US CPSC recalls", "recall", "USA"),
    "wto_eping": ("WTO ePing", "notification", "WTO"),
    "ru_rosstandart": ("Rosstandart draft standards", "regulation", "RUS"),
}
# Sector tags the tests assign (by source key): inputs for the sector filter and facet, not classifier output.
TAGS: dict[str, list[tuple[str, float, str]]] = {
    "A11/00041/21": [("toys", 0.95, "rule")],
    "A12/00839/21": [("toys", 0.97, "rule")],
    "1302/08": [("toys", 0.9, "model")],
    "CONSTRUCTED-ZH-1": [("toys", 1.0, "hs")],
    "A12/00850/21": [("textiles_apparel", 0.8, "model")],
    "1303/08": [("leather_footwear", 0.85, "model")],
    "18218": [("household_appliances", 0.9, "model")],
    "13117": [("household_appliances", 0.88, "model")],
    "crn:25_03831": [("building_materials", 0.7, "hs")],
    "crn:25_03762": [("daily_consumer_goods", 0.6, "hs"), ("medical_devices", 0.3, "model")],
}
_run = uuid.uuid4().hex[:6]
_counter = itertools.count()


def records() -> list[dict[str, Any]]:
    """The measures of measures.json as store_measures records."""
    from crawlers.items import MeasureItem

    return [MeasureItem(**r["item"]).to_record() for r in json.loads(DATA.read_text(encoding="utf-8"))]


def load_measures(engine: Engine, *, seen_at: dt.datetime | None = None) -> dict[str, str]:
    """Store the test measures and their tags; return source_key -> measure id."""
    from schema.ids import measure_id

    with session_scope(engine) as session:
        upsert(
            session,
            Source,
            [{"id": s, "name": n, "kind": k, "jurisdiction": j} for s, (n, k, j) in SOURCES.items()],
        )
        store_measures(session, records(), seen_at=seen_at)
        ids = {r["source_key"]: measure_id(r["source_id"], r["source_key"]) for r in records()}
        for key, tags in TAGS.items():
            for sector, score, method in tags:
                session.add(
                    SectorTag(
                        measure_id=ids[key], sector=sector, score=score, method=method,
                        evidence={"assigned_by": "tests/search/conftest.py"}, classifier_version="test",
                        created_at=seen_at or dt.datetime.now(dt.UTC),
                    )
                )  # fmt: skip
    return ids


@dataclass
class SearchEnv:
    settings: Settings
    engine: Engine
    ids: dict[str, str]


@pytest.fixture
def search_env(make_settings: Callable[..., Settings], db_url: str, index_prefix: str) -> Iterator[SearchEnv]:
    """The test measures in a fresh database (SQLite and PostgreSQL), with an unused index prefix."""
    settings = make_settings(TBT_DATABASE_URL=db_url, TBT_INDEX_PREFIX=index_prefix)
    engine = make_engine(db_url)
    ids = load_measures(engine, seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    yield SearchEnv(settings, engine, ids)
    engine.dispose()


@pytest.fixture(scope="module")
def shared_index(es: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEnv]:
    """One SQLite database and one live index of the test measures, for the read-only query tests."""
    from search.lifecycle import rebuild_index

    tmp = tmp_path_factory.mktemp("search")
    url = f"sqlite:///{tmp / 'search.sqlite'}"
    upgrade(url)
    prefix = f"tbt-test-search-{_run}-{next(_counter)}"
    settings = load_settings(
        {"TBT_DATA_DIR": str(tmp), "TBT_DATABASE_URL": url, "TBT_INDEX_PREFIX": prefix,
         "TBT_SECRET_KEY": "test-secret-key-not-for-production-0123456789"}
    )  # fmt: skip
    engine = make_engine(url)
    ids = load_measures(engine)
    rebuild_index(settings, client=es)
    yield SearchEnv(settings, engine, ids)
    engine.dispose()
    for name in es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all"):
        es.indices.delete(index=name, ignore_unavailable=True)
