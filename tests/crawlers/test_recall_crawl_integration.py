"""Real `scrapy crawl` child processes against a loopback server of recorded responses,
into SQLite and PostgreSQL: exact measures, no duplicates, quarantine, crawl runs, faults."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawlers.outcome import CrawlOutcome, exit_code
from crawlers.recorded import recorded_dir
from crawlers.replay import REPLAY_DIR
from crawlers.run import crawl, crawl_all
from crawlers.saved import read_saved
from crawlers.sources import load_source
from schema.engine import make_engine
from schema.ids import measure_id
from schema.models import CrawlRun, Measure, MeasureRevision, QuarantinedRecord
from tbt_alert.settings import Settings

REPORT_FILES = ("report_10000282.xml.gz", "report_10000283.xml.gz")
RECALL_SOURCES = ("eu_safety_gate", "us_cpsc", "ca_health_canada", "au_accc")
# Quick and deterministic: no politeness delays, short timeouts, tiny backoff.
FAST = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_TIMEOUT": 3,
    "RETRY_TIMES": 1,
    "RETRY_BACKOFF_BASE": 0.1,
    "LOG_LEVEL": "WARNING",
}
SG_LIST = "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/list/xml/en"
SG_REPORT = "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/{0}?language=en&search=WEB_REPORT%7C:%7C{0}"


@pytest.fixture
def settings(db_url: str, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(TBT_DATABASE_URL=db_url)


def _keys(session: Session, source: str) -> list[str]:
    return sorted(session.scalars(select(Measure.source_key).where(Measure.source_id == source)))


def _count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _expected_keys(source: str) -> list[str]:
    """Source keys the recorded snapshot holds, read with the parser itself (the parser is tested apart)."""
    from crawlers.parsers import get_parser
    from crawlers.replay.server import load_exchanges

    config = load_source(source)
    keys: set[str] = set()
    for exchange in load_exchanges(recorded_dir(source))[0]:
        if exchange.body_path is None or exchange.url == SG_LIST:
            continue
        keys |= {i.source_key for i in get_parser(source)(read_saved(exchange.body_path), exchange.url, config).items}
    return sorted(keys)


def test_replay_of_every_recall_source_stores_exactly_the_snapshot_and_reruns_add_nothing(
    settings: Settings, db_url: str
) -> None:
    outcomes = [crawl(settings, s, replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST) for s in RECALL_SOURCES]
    assert [(o.source_id, o.status) for o in outcomes] == [(s, "success") for s in RECALL_SOURCES]
    assert exit_code(outcomes) == 0
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            for source in RECALL_SOURCES:
                assert _keys(session, source) == _expected_keys(source)
            measures = _count(session, Measure)
            assert measures == 140 + 3 + 60 + 3
            runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
            assert [(r.source_id, r.status, r.seen, r.new) for r in runs] == [
                ("eu_safety_gate", "success", 140, 140),
                ("us_cpsc", "success", 3, 3),
                ("ca_health_canada", "success", 60, 60),
                ("au_accc", "success", 3, 3),
            ]
            assert all(r.finished_at is not None and not r.suspicious for r in runs)
            china = session.scalar(select(func.count()).where(Measure.country_of_origin == "CHN"))
            assert china
            assert china > 20

        again = crawl(settings, "eu_safety_gate", replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
        assert (again.status, again.seen, again.new, again.changed, again.unchanged) == ("success", 140, 0, 0, 140)
        with Session(engine) as session:
            assert _count(session, Measure) == measures
            assert _count(session, MeasureRevision) == 0
            assert _count(session, CrawlRun) == 5
    finally:
        engine.dispose()


def _replay_dir(tmp_path: Path, source: str, exchanges: list[dict[str, Any]], files: dict[str, bytes]) -> Path:
    folder = tmp_path / "replay" / source
    folder.mkdir(parents=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    (folder / "exchanges.json").write_text(json.dumps({"source": source, "exchanges": exchanges}))
    return tmp_path / "replay"


def test_safety_gate_retries_a_503_then_one_report_times_out_and_the_other_is_stored(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    snapshot = recorded_dir("eu_safety_gate")
    replay = _replay_dir(
        tmp_path,
        "eu_safety_gate",
        [
            {"url": SG_LIST, "status": 503, "times": 1},
            {"url": SG_LIST, "body": "weekly_list.xml"},
            {"url": SG_REPORT.format(10000282), "delay": 6, "body": "report_10000282.xml.gz"},
            {"url": SG_REPORT.format(10000283), "body": "report_10000283.xml.gz"},
        ],
        {n: (snapshot / n).read_bytes() for n in ("weekly_list.xml", *REPORT_FILES)},
    )
    outcome = crawl(settings, "eu_safety_gate", replay_dir=replay, timeout=120, scrapy_settings=FAST)
    assert outcome.status == "partial"
    assert outcome.exit_code == 3
    assert (outcome.seen, outcome.new) == (93, 93)
    assert outcome.error is not None
    assert "10000282" in outcome.error
    assert "source eu_safety_gate" in outcome.error
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            assert _count(session, Measure) == 93
            keys = _keys(session, "eu_safety_gate")
            assert len(keys) == len(set(keys)) == 93
    finally:
        engine.dispose()


def test_truncated_body_fails_after_retries_and_changed_structure_fails_naming_the_field(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    cpsc_body = (recorded_dir("us_cpsc") / "recalls_bluestar_2018.json").read_bytes()
    replay = _replay_dir(
        tmp_path,
        "us_cpsc",
        [
            {
                "url": "https://www.saferproducts.gov/RestWebServices/Recall?format=json",
                "match": "path",
                "truncate": 500,
                "body": "recalls.json",
            }
        ],
        {"recalls.json": cpsc_body},
    )
    truncated = crawl(settings, "us_cpsc", replay_dir=replay, timeout=120, scrapy_settings=FAST)
    assert (truncated.status, truncated.seen, truncated.exit_code) == ("failed", 0, 1)

    changed_dir = tmp_path / "changed"
    hc_url = load_source("ca_health_canada").base_urls["en"]
    replay = _replay_dir(
        changed_dir,
        "ca_health_canada",
        [{"url": hc_url, "body": "dump.json"}],
        {"dump.json": json.dumps({"records": [{"NID": "1"}]}).encode()},
    )
    (replay / "ca_health_canada" / "exchanges.json").write_text(
        json.dumps(
            {
                "source": "ca_health_canada",
                "spider_args": {"languages": "en"},
                "exchanges": [{"url": hc_url, "body": "dump.json"}],
            }
        )
    )
    changed = crawl(settings, "ca_health_canada", replay_dir=replay, timeout=120, scrapy_settings=FAST)
    assert changed.status == "failed"
    assert changed.error is not None
    assert "source ca_health_canada" in changed.error
    assert "'body'" in changed.error

    # the other sources are unaffected
    fine = crawl(settings, "au_accc", replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    assert (fine.status, fine.new) == ("success", 3)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(CrawlRun.source_id, CrawlRun.status))
            statuses = {row.source_id: row.status for row in rows}
            assert statuses == {"us_cpsc": "failed", "ca_health_canada": "failed", "au_accc": "success"}
            assert _count(session, Measure) == 3
    finally:
        engine.dispose()


def test_bad_records_are_quarantined_once_and_a_changed_record_becomes_a_revision(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    # Test-constructed variants of a real report: its first alert names an unknown country,
    # and in the third run that same alert's product text changes too.
    real = gzip.decompress((recorded_dir("eu_safety_gate") / "report_10000282.xml.gz").read_bytes()).decode()
    bad = real.replace("<notifyingCountry>", "<notifyingCountry>Atlantis", 1)
    first_product = real.index("<product><![CDATA[") + len("<product><![CDATA[")
    changed = bad[:first_product] + "CHANGED " + bad[first_product:]
    list_body = (recorded_dir("eu_safety_gate") / "weekly_list.xml").read_bytes()

    def run(report: str, folder: str) -> CrawlOutcome:
        replay = _replay_dir(
            tmp_path / folder,
            "eu_safety_gate",
            [{"url": SG_LIST, "body": "list.xml"}, {"url": SG_REPORT.format(10000282), "body": "r.xml"}],
            {"list.xml": list_body, "r.xml": report.encode()},
        )
        return crawl(settings, "eu_safety_gate", replay_dir=replay, timeout=120, scrapy_settings=FAST)

    one = run(bad, "one")
    assert (one.status, one.seen, one.rejected) == ("partial", 46, 1)  # the 10000283 report is not served
    two = run(bad, "two")
    assert (two.new, two.unchanged, two.rejected) == (0, 46, 1)
    three = run(changed, "three")  # the rejected alert itself changed: a new version, quarantined again
    assert (three.new, three.changed, three.unchanged, three.rejected) == (0, 0, 46, 1)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            quarantined = session.scalars(select(QuarantinedRecord).order_by(QuarantinedRecord.id)).all()
            assert len(quarantined) == 2  # runs one and two share a row; run three's payload differs
            assert {q.field for q in quarantined} == {"notifyingCountry"}
            assert all("Atlantis" in q.reason for q in quarantined)
            assert "CHANGED" not in (quarantined[0].raw_payload or "")
            assert "CHANGED" in (quarantined[1].raw_payload or "")
    finally:
        engine.dispose()


def test_changed_alert_is_kept_as_a_revision(settings: Settings, db_url: str, tmp_path: Path) -> None:
    real = gzip.decompress((recorded_dir("eu_safety_gate") / "report_10000282.xml.gz").read_bytes()).decode()
    start = real.index("<product><![CDATA[") + len("<product><![CDATA[")
    changed = real[:start] + "CHANGED " + real[start:]
    case = real[real.index("<caseNumber>") + 12 : real.index("</caseNumber>")]
    list_body = (recorded_dir("eu_safety_gate") / "weekly_list.xml").read_bytes()
    outcomes = []
    for number, report in enumerate((real, changed)):
        replay = _replay_dir(
            tmp_path / str(number),
            "eu_safety_gate",
            [{"url": SG_LIST, "body": "list.xml"}, {"url": SG_REPORT.format(10000282), "body": "r.xml"}],
            {"list.xml": list_body, "r.xml": report.encode()},
        )
        outcomes.append(crawl(settings, "eu_safety_gate", replay_dir=replay, timeout=120, scrapy_settings=FAST))
    assert [(o.new, o.changed, o.unchanged) for o in outcomes] == [(47, 0, 0), (0, 1, 46)]
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            measure = session.get(Measure, measure_id("eu_safety_gate", case))
            assert measure is not None
            assert measure.title.startswith("CHANGED ")
            assert measure.revision == 2
            revisions = session.scalars(select(MeasureRevision)).all()
            assert [(r.measure_id, r.revision) for r in revisions] == [(measure.id, 1)]
            assert not revisions[0].content["title"].startswith("CHANGED")
    finally:
        engine.dispose()


def test_crawl_all_skips_sources_without_a_snapshot_and_a_crawl_timeout_fails_the_run(
    settings: Settings, tmp_path: Path
) -> None:
    replay = tmp_path / "replay"
    shutil.copytree(recorded_dir("au_accc"), replay / "au_accc")
    outcomes = crawl_all(settings, replay_dir=replay, timeout=120, scrapy_settings=FAST)
    assert [(o.source_id, o.status) for o in outcomes] == [("au_accc", "success")]

    slow = _replay_dir(
        tmp_path / "slow",
        "us_cpsc",
        [{"url": "https://www.saferproducts.gov/RestWebServices/Recall?format=json", "match": "path", "delay": 30}],
        {},
    )
    stopped = crawl(settings, "us_cpsc", replay_dir=slow, timeout=8, scrapy_settings={**FAST, "DOWNLOAD_TIMEOUT": 60})
    assert stopped.status == "failed"
    assert stopped.error is not None
    assert "timeout" in stopped.error
