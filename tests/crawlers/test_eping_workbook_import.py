"""`tbt-alert import eping FILE.xlsx`: a workbook stored as a crawl stores, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from crawlers.recorded import recorded_dir
from crawlers.sources.wto_eping_excel import construct
from crawlers.sources.wto_eping_excel.importer import import_workbook
from pipeline.cli import main
from schema.engine import make_engine
from schema.ids import measure_id
from schema.models import CrawlRun, Measure, QuarantinedRecord
from tbt_alert.settings import Settings
from tests.conftest import TEST_SECRET

WORKBOOK = recorded_dir("wto_eping_excel") / "export_search_results_32.xlsx"
SYMBOL = construct.HEADERS.index("Document symbol")


@pytest.fixture(scope="module")
def real_rows(shared_data: Path) -> list[dict[str, str]]:
    return construct.real_rows(shared_data / "eping" / "eping_export_sample_32.csv")


def test_a_workbook_is_stored_as_wto_eping_measures_and_a_second_import_changes_nothing(engine: Engine) -> None:
    first = import_workbook(engine, WORKBOOK)
    assert (first.status, first.source_id) == ("success", "wto_eping")
    assert (first.seen, first.new, first.changed, first.unchanged, first.rejected) == (32, 32, 0, 0, 0)
    with Session(engine) as session:
        uganda = session.get(Measure, measure_id("wto_eping", "G/TBT/N/UGA/9014"))
        assert uganda is not None
        assert (uganda.source_id, uganda.country, uganda.kind) == ("wto_eping", "UGA", "tbt_notification")
        assert uganda.hs_codes == ["271210"]
        assert str(uganda.comment_deadline) == "2025-08-05"
        assert session.scalar(select(func.count()).select_from(Measure)) == 32
        run = session.get(CrawlRun, first.run_id)
        assert run is not None
        # The run is the workbook's, so wto_eping's daily crawl is not taken as done.
        assert (run.source_id, run.status, run.seen) == ("wto_eping_excel", "success", 32)
    again = import_workbook(engine, WORKBOOK)
    assert (again.status, again.new, again.changed, again.unchanged) == ("success", 0, 0, 32)


def test_bad_rows_are_quarantined_the_rest_stored_and_follow_ups_linked(
    engine: Engine, tmp_path: Path, real_rows: list[dict[str, str]]
) -> None:
    rows = list(construct.constructed_rows(real_rows[:4]))
    rows[1][SYMBOL] = construct.hyperlink(f"{construct.VIEW} G/SPS/N/CHN/", " G/SPS/N/CHN/")
    rows[2][1] = "soon"
    # an addendum of the first row's notification, in the same workbook
    addendum = list(rows[0])
    addendum[SYMBOL] = construct.symbol_formula(["G/SPS/N/THA/9001/Add.1"])
    rows.append(addendum)
    path = construct.write_shared_strings_workbook(tmp_path / "broken.xlsx", rows)
    outcome = import_workbook(engine, path)
    assert (outcome.status, outcome.seen, outcome.new, outcome.rejected) == ("partial", 3, 3, 2)
    assert outcome.error is not None
    assert "2 record(s) quarantined" in outcome.error
    with Session(engine) as session:
        quarantined = session.scalars(select(QuarantinedRecord).order_by(QuarantinedRecord.id)).all()
        assert [(q.source_id, q.field, q.crawl_run_id) for q in quarantined] == [
            ("wto_eping", "Document symbol", outcome.run_id),
            ("wto_eping", "Distribution date", outcome.run_id),
        ]
        assert "row 3" in quarantined[0].reason
        assert "G/SPS/N/CHN/" in quarantined[0].reason
        assert "row 4" in quarantined[1].reason
        child = session.get(Measure, measure_id("wto_eping", "G/SPS/N/THA/9001/Add.1"))
        assert child is not None
        assert (child.parent_id, child.relation) == (measure_id("wto_eping", "G/SPS/N/THA/9001"), "addendum")


def test_a_file_that_is_not_a_workbook_fails_the_run_naming_the_file(engine: Engine, tmp_path: Path) -> None:
    html = tmp_path / "Notification_EN.xlsx"
    html.write_text("<html>Service unavailable</html>")
    outcome = import_workbook(engine, html)
    assert (outcome.status, outcome.seen) == ("failed", 0)
    assert outcome.error is not None
    assert str(html) in outcome.error
    assert "not a zip file" in outcome.error


def test_import_command_prints_counts_and_exits_like_a_crawl(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TBT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TBT_SECRET_KEY", TEST_SECRET)
    assert main(["import", "eping", str(WORKBOOK)]) == 0
    out = capsys.readouterr().out
    assert "success" in out
    assert "stored as wto_eping) seen 32, new 32, changed 0, unchanged 0, rejected 0" in out
    assert main(["import", "eping", str(tmp_path / "missing.xlsx")]) == 1
    assert "no such file" in capsys.readouterr().err


# ------------------------------------------------------------------ the crawl's fallback

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0, "LOG_LEVEL": "WARNING"}


def _api_down(tmp_path: Path) -> Path:
    """A replay snapshot of wto_eping whose getAll answers 503 to every page."""
    from crawlers.sources import load_source

    folder = tmp_path / "replay" / "wto_eping"
    folder.mkdir(parents=True)
    exchanges = [{"url": url, "match": "path", "status": 503} for url in load_source("wto_eping").base_urls.values()]
    (folder / "exchanges.json").write_text(json.dumps({"source": "wto_eping", "exchanges": exchanges}))
    return tmp_path / "replay"


def test_a_failed_wto_eping_crawl_falls_back_to_the_downloaded_bulk_workbook(
    sqlite_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from crawlers.run import crawl

    replay = _api_down(tmp_path)
    without = crawl(
        make_settings(TBT_DATABASE_URL=sqlite_url), "wto_eping", replay_dir=replay, timeout=120, scrapy_settings=FAST
    )
    assert (without.status, without.seen) == ("failed", 0)

    settings = make_settings(TBT_DATABASE_URL=sqlite_url, TBT_EPING_BULK_WORKBOOK=str(WORKBOOK))
    outcome = crawl(settings, "wto_eping", replay_dir=replay, timeout=120, scrapy_settings=FAST)
    assert (outcome.status, outcome.source_id, outcome.seen, outcome.new) == ("partial", "wto_eping", 32, 32)
    assert outcome.error is not None
    assert f"fell back to the bulk workbook {WORKBOOK}" in outcome.error
    assert "failed after retries: HTTP 503" in outcome.error.splitlines()[0]
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
            # both API crawls stay failed in the record; the workbook's run stored the measures
            assert [(r.source_id, r.status) for r in runs] == [
                ("wto_eping", "failed"),
                ("wto_eping", "failed"),
                ("wto_eping_excel", "success"),
            ]
            assert session.get(Measure, measure_id("wto_eping", "G/SPS/N/EU/9021")) is not None
    finally:
        engine.dispose()


def test_the_fallback_says_when_the_workbook_is_missing_or_stale(
    sqlite_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    import dataclasses
    import datetime as dt

    from crawlers.outcome import CrawlOutcome
    from crawlers.sources.wto_eping_excel.fallback import fall_back

    failed = CrawlOutcome(1, "wto_eping", "failed", 0, 0, 0, 0, 0, False, "source wto_eping: HTTP 503")
    missing = make_settings(TBT_DATABASE_URL=sqlite_url, TBT_EPING_BULK_WORKBOOK=str(tmp_path / "none.xlsx"))
    told = fall_back(missing, failed)
    assert told.status == "failed"
    assert told.error is not None
    assert "which is not a file" in told.error
    assert fall_back(make_settings(TBT_DATABASE_URL=sqlite_url), failed) == failed  # unset: unchanged
    other = dataclasses.replace(failed, source_id="us_cpsc")
    present = make_settings(TBT_DATABASE_URL=sqlite_url, TBT_EPING_BULK_WORKBOOK=str(WORKBOOK))
    assert fall_back(present, other) == other  # only wto_eping falls back
    later = dt.datetime.fromtimestamp(WORKBOOK.stat().st_mtime, dt.UTC) + dt.timedelta(days=10)
    stale = fall_back(present, failed, now=later)
    assert stale.status == "partial"
    assert stale.error is not None
    assert "the workbook is 10 days old" in stale.error
