"""Text PostgreSQL refuses (review finding M9): a NUL or a lone surrogate in one record quarantines
that record only, never its batch or the run. On the real PostgreSQL (tests/conftest.py)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.items import MeasureItem, Rejected
from crawlers.parsers import get_parser
from crawlers.pipelines import MeasureStore, check_item, open_crawl_run
from crawlers.recorded import recorded_dir
from crawlers.run import crawl
from crawlers.sources import load_source
from schema.engine import make_engine
from schema.models import CrawlRun, Measure, QuarantinedRecord
from tbt_alert.settings import Settings

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 1}


def _item(key: str, **overrides: object) -> MeasureItem:
    fields: dict[str, object] = {
        "source_id": "us_cpsc",
        "source_key": key,
        "kind": "recall",
        "title": f"Ranges {key}",
        "raw_payload": f'{{"RecallNumber": "{key}"}}',
    }
    fields.update(overrides)
    return MeasureItem.model_validate(fields)


def _recorded_cpsc() -> list[dict[str, object]]:
    records: list[dict[str, object]] = json.loads(
        (recorded_dir("us_cpsc") / "recalls_bluestar_2018.json").read_text(encoding="utf-8")
    )
    return records


POISONS = [
    ("title", "Ranges\x00"),
    ("description", "half a surrogate \ud800"),
    ("extra", {"note": "nul in jsonb \x00"}),
    ("products", "\x00"),
]


@pytest.mark.parametrize(("field", "value"), POISONS, ids=[p[0] for p in POISONS])
def test_a_record_postgresql_would_refuse_is_quarantined_by_the_parser(field: str, value: object) -> None:
    records = _recorded_cpsc()
    if field == "extra":
        records[1]["Surprise"] = value["note"]  # type: ignore[index]  # unmapped fields go to extra
    else:
        records[1]["Title" if field in ("title", "products") else "Description"] = value
    result = get_parser("us_cpsc")(json.dumps(records).encode(), "https://x.invalid", load_source("us_cpsc"))
    assert len(result.items) == len(records) - 1
    (reject,) = result.rejected
    key = str(records[1]["RecallNumber"])
    assert reject.record_key == key
    assert reject.reason.startswith(f"source us_cpsc, record {key}: ")
    assert "PostgreSQL" in reject.reason


def test_the_validate_stage_rechecks_text_of_an_item_changed_after_it_was_built() -> None:
    changed = _item("7").model_copy(update={"extra": {"deep": ["ok", {"k\x00": "v"}]}})
    result = check_item(changed, load_source("us_cpsc"))
    assert isinstance(result, Rejected)
    assert result.field == "extra"
    assert result.reason.startswith("source us_cpsc, record 7: extra: ")
    assert "U+0000" in result.reason


@pytest.mark.parametrize(("field", "value"), POISONS, ids=[p[0] for p in POISONS])
def test_one_poisoned_item_in_a_batch_is_quarantined_and_the_rest_stored(
    postgres_url: str, field: str, value: object
) -> None:
    engine = make_engine(postgres_url)
    config = load_source("us_cpsc")
    store = MeasureStore(engine, config, open_crawl_run(engine, config, None, since=None))
    # As if a bad value slipped past validation: the store itself must not poison the batch.
    poisoned = _item("2").model_copy(update={field: value})
    for item in (_item("1"), poisoned, _item("3")):
        store.add(item)
    store.flush()
    store.add(_item("4"))
    store.flush()
    with Session(engine) as session:
        assert sorted(session.scalars(select(Measure.source_key))) == ["1", "3", "4"]
        (row,) = session.scalars(select(QuarantinedRecord))
        assert row.record_key == "2"
        assert row.reason.startswith("source us_cpsc, record 2: the database refused the record (")
    assert (store.counts.seen, store.counts.new, store.counts.rejected) == (3, 3, 1)
    engine.dispose()


def test_a_quarantined_record_holding_a_nul_is_kept_visibly_escaped(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    config = load_source("us_cpsc")
    store = MeasureStore(engine, config, open_crawl_run(engine, config, None, since=None))
    store.add(Rejected("us_cpsc", "9\x00", "Title", "source us_cpsc, record 9: bad \x00 title", '{"Title": "a\x00b"}'))
    store.add(_item("1"))
    store.flush()
    with Session(engine) as session:
        (row,) = session.scalars(select(QuarantinedRecord))
        assert (row.record_key, row.raw_payload) == ("9\\u0000", '{"Title": "a\\u0000b"}')
        assert row.reason == "source us_cpsc, record 9: bad \\u0000 title"
        assert list(session.scalars(select(Measure.source_key))) == ["1"]
    engine.dispose()


@pytest.mark.timeout(300)
def test_a_crawl_with_a_nul_in_one_record_stores_the_others_and_is_partial(
    postgres_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    replay = tmp_path / "replay"
    shutil.copytree(recorded_dir("us_cpsc"), replay / "us_cpsc")
    records = _recorded_cpsc()
    records[0]["Title"] = f"{records[0]['Title']}\x00"
    (replay / "us_cpsc" / "recalls_bluestar_2018.json").write_text(json.dumps(records), encoding="utf-8")
    settings = make_settings(TBT_DATABASE_URL=postgres_url)

    outcome = crawl(settings, "us_cpsc", replay_dir=replay, timeout=240, scrapy_settings=FAST)

    assert outcome.status == "partial"
    engine = make_engine(postgres_url)
    with Session(engine) as session:
        stored = sorted(session.scalars(select(Measure.source_key)))
        assert stored == sorted(str(r["RecallNumber"]) for r in records[1:])
        (row,) = session.scalars(select(QuarantinedRecord))
        assert row.record_key == str(records[0]["RecallNumber"])
        run = session.scalars(select(CrawlRun)).one()
        assert (run.status, run.rejected) == ("partial", 1)
    engine.dispose()
