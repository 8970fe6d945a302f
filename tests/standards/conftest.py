"""Measures whose texts are real (rows of the hand-labelled set), in a database and a live index.

Text, source and record key come from ``citations.jsonl``; kind, market and date are ASSIGNED
by this fixture (the set does not keep them), as inputs for the filters and the standard page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from classifiers.standards_eval import CITATIONS_PATH
from classifiers.tagging import extract_all_standards
from schema.engine import make_engine, session_scope
from schema.ids import measure_id
from schema.models import Measure, Source
from tbt_alert.settings import Settings

# Set row id -> (source id, kind, country, date): assigned, see the module docstring.
MEASURES: dict[int, tuple[str, str, str, dt.date]] = {
    166: ("eu_safety_gate", "recall", "DEU", dt.date(2025, 3, 7)),  # EN 60335-1 and EN 60335-2-30
    22: ("eu_safety_gate", "recall", "FRA", dt.date(2022, 3, 1)),  # EN 60598-1 and EN 60598-2-20
    4: ("eu_safety_gate", "recall", "POL", dt.date(2025, 7, 4)),  # EN 71-1
    11: ("eu_safety_gate", "recall", "ESP", dt.date(2021, 2, 1)),  # EN 71-3
    144: ("eu_safety_gate", "recall", "GBR", dt.date(2011, 1, 20)),  # EN 60335, BS 1363
    169: ("eu_safety_gate", "recall", "SVK", dt.date(2006, 6, 6)),  # IEC 60884-1
    221: ("ru_rosstandart", "regulation", "RUS", dt.date(2025, 11, 1)),  # ГОСТ Р 51558-2014
    215: ("us_cpsc", "recall", "USA", dt.date(2025, 11, 6)),  # ASTM F3096-23
    212: ("ca_health_canada", "recall", "CAN", dt.date(2021, 10, 1)),  # a model name, no standard
}
SOURCES = {
    "eu_safety_gate": ("EU Safety Gate", "recall", "EUR"),
    "ru_rosstandart": ("Rosstandart draft standards", "regulation", "RUS"),
    "us_cpsc": ("US CPSC recalls", "recall", "USA"),
    "ca_health_canada": ("Health Canada recalls", "recall", "CAN"),
}


def set_rows() -> dict[int, dict[str, Any]]:
    rows = (json.loads(line) for line in CITATIONS_PATH.read_text(encoding="utf-8").splitlines() if line)
    return {r["id"]: r for r in rows if r["id"] in MEASURES}


def load(engine: Engine) -> dict[int, str]:
    """Store the measures and read their standards; set row id -> measure id."""
    ids: dict[int, str] = {}
    with session_scope(engine) as session:
        for sid, (name, kind, jurisdiction) in SOURCES.items():
            session.add(Source(id=sid, name=name, kind=kind, jurisdiction=jurisdiction))
        session.flush()
        for n, row in set_rows().items():
            source, kind, country, published = MEASURES[n]
            ids[n] = measure_id(source, row["record"])
            text = row["text"]
            session.add(
                Measure(
                    id=ids[n], source_id=source, source_key=row["record"], kind=kind, country=country,
                    title=text[:80], hazard=text, published_on=published, content_hash=str(n), language="en",
                )
            )  # fmt: skip
    extract_all_standards(engine)
    return ids


@dataclass
class StandardsEnv:
    settings: Settings
    engine: Engine
    ids: dict[int, str]


@pytest.fixture
def standards_env(make_settings: Callable[..., Settings], sqlite_url: str, index_prefix: str) -> Iterator[StandardsEnv]:
    settings = make_settings(TBT_DATABASE_URL=sqlite_url, TBT_INDEX_PREFIX=index_prefix)
    engine = make_engine(sqlite_url)
    yield StandardsEnv(settings, engine, load(engine))
    engine.dispose()
