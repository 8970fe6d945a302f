"""tbt_pipeline end to end with ``dag.test()``: the recorded snapshot in, rows, index
documents and mails out, against the real Elasticsearch and a real SMTP server; then
the same logical date again, which must store, index and send nothing new.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.sources import load_sources
from devtools.smtp_sink import SmtpSink
from pipeline import stages
from schema.engine import make_engine, session_scope
from schema.models import CrawlRun, Measure, Subscriber
from tbt_alert.settings import Settings
from tests.dags.conftest import REPO_ROOT
from tests.tables import table_counts

# The shipped recordings: crawlers/sources/<id>/recorded/ (crawlers.run.replay_folder finds them).
REPLAY = REPO_ROOT / "crawlers" / "sources"
BROKEN_REPLAY = REPO_ROOT / "tests" / "fixtures" / "pipeline" / "broken_replay"

pytestmark = [pytest.mark.slow, pytest.mark.encoder]


def _this_hour() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.replace(minute=0, second=0, microsecond=0).isoformat()


def _index_count(es: Any, settings: Settings, kind: str) -> int:
    from search.names import alias

    es.indices.refresh(index=alias(settings, kind))
    return int(es.count(index=alias(settings, kind))["count"])


def _states(run: dict[str, Any]) -> dict[str, str]:
    return {name: task["state"] for name, task in run["tasks"].items()}


def test_pipeline_end_to_end_then_rerun_changes_nothing(
    make_settings: Callable[..., Settings],
    index_prefix: str,
    smtp_sink: SmtpSink,
    es: Any,
    run_dag: Callable[..., dict[str, Any]],
) -> None:
    settings = make_settings(
        TBT_INDEX_PREFIX=index_prefix, TBT_SMTP_PORT=str(smtp_sink.port), TBT_REPLAY_DIR=str(REPLAY)
    )
    # Confirmed (constructed) subscribers, so that the run has someone to write to.
    assert stages.demo_subscribers(settings)["added"] == 5
    logical = _this_hour()

    first = run_dag("tbt_pipeline", logical, settings)

    states = _states(first)
    assert first["state"] == "success", first["log"][-5000:]
    assert all(state == "success" for state in states.values()), states
    crawled = sorted(t["label"] for name, t in first["tasks"].items() if name.startswith("crawl["))
    recorded = {p.name for p in REPLAY.iterdir() if (p / "recorded" / "exchanges.json").exists()}
    assert crawled == sorted(c.id for c in load_sources().values() if c.enabled and c.id in recorded)
    tagged = sorted(t["label"] for name, t in first["tasks"].items() if name.startswith("tag_partition["))
    assert tagged == ["1/2", "2/2"]  # TBT_TAGGING_PARTITIONS' default

    counts = table_counts(settings)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            runs = session.scalars(select(CrawlRun)).all()
            recipients = {s.email for s in session.scalars(select(Subscriber))}
    finally:
        engine.dispose()
    assert sorted(r.source_id for r in runs) == crawled  # one crawl per source
    assert all(r.status in ("success", "partial") for r in runs)
    assert counts["measures"] == sum(r.new for r in runs) > 300
    assert counts["tagged"] == counts["measures"]
    assert counts["sector_tags"] > 0
    assert _index_count(es, settings, "measures") == counts["live_measures"]
    assert counts["bulletins"] > 0
    assert _index_count(es, settings, "bulletins") == counts["bulletins"]
    assert counts["bulletins_sent"] == counts["bulletins"]
    mails = smtp_sink.messages()
    assert len(mails) == counts["deliveries"]
    assert {m["To"] for m in mails} <= recipients

    second = run_dag("tbt_pipeline", logical, settings)

    assert second["state"] == "success", second["log"][-5000:]
    assert _states(second)["crawl"] == "skipped"  # every source was crawled for this slot
    # Nothing pending: one open partition still runs, so compose and the rest run as before.
    assert {k: v for k, v in _states(second).items() if k.startswith("tag_partition")} == {
        "tag_partition[0]": "success"
    }
    assert table_counts(settings) == counts
    assert len(smtp_sink.messages()) == len(mails)
    assert _index_count(es, settings, "measures") == counts["live_measures"]
    assert _index_count(es, settings, "bulletins") == counts["bulletins"]


def test_failing_source_stops_neither_the_others_nor_the_later_stages(
    make_settings: Callable[..., Settings],
    index_prefix: str,
    smtp_sink: SmtpSink,
    es: Any,
    run_dag: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    # One real recorded source beside one that answers with a maintenance page (constructed).
    replay = tmp_path / "replay"
    shutil.copytree(REPLAY / "au_accc" / "recorded", replay / "au_accc")
    shutil.copytree(BROKEN_REPLAY / "us_cpsc", replay / "us_cpsc")
    settings = make_settings(TBT_INDEX_PREFIX=index_prefix, TBT_SMTP_PORT=str(smtp_sink.port))

    run = run_dag("tbt_pipeline", _this_hour(), settings, conf={"replay_dir": str(replay)}, retry_delay=1)

    by_label = {t["label"]: t for name, t in run["tasks"].items() if name.startswith("crawl[")}
    assert by_label["au_accc"]["state"] == "success"
    assert by_label["us_cpsc"]["state"] == "failed"
    assert by_label["us_cpsc"]["try_number"] == 3  # the designed two retries, then it gave up
    states = _states(run)
    assert states["plan_tagging"] == "success"
    assert [s for name, s in states.items() if name.startswith("tag_partition[")] == ["success"] * 2
    assert states["compose"] == "success"
    assert states["update_index"] == "success"
    assert states["deliver"] == "success"

    counts = table_counts(settings)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            sources = set(session.scalars(select(Measure.source_id).distinct()))
            failed = session.scalars(select(CrawlRun).where(CrawlRun.source_id == "us_cpsc")).all()
    finally:
        engine.dispose()
    assert sources == {"au_accc"}
    assert counts["tagged"] == counts["measures"] > 0
    assert _index_count(es, settings, "measures") == counts["live_measures"]
    assert [r.status for r in failed] == ["failed"] * 3
    assert all("not a JSON array" in (r.error_summary or "") for r in failed)

    # The operator hears of it once, after the last retry, naming the source.
    alerts = [m for m in smtp_sink.messages() if m["To"] == settings.operator_email]
    assert [m["Subject"] for m in alerts] == ["[tbt-alert operator] task tbt_pipeline.crawl[us_cpsc] failed"]
    assert "not a JSON array" in alerts[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
