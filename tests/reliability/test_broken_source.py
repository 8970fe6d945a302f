"""A source answering with garbage and another whose structure changed, beside a healthy one,
in one run of tbt_pipeline: both broken crawls fail loudly with a message naming the source
and what is wrong, the healthy source and every later stage complete, and the operator gets
one mail per broken source (after the designed retries) at the SMTP server.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.smtp_sink import SmtpSink
from tbt_alert.settings import Settings
from tests.reliability.conftest import REPLAY, REPO_ROOT, crawl_runs
from tests.tables import table_counts

FAULTY = REPO_ROOT / "tests" / "fixtures" / "reliability" / "faulty_replay"

pytestmark = pytest.mark.slow

EXPECTED_ERRORS = {
    "eu_safety_gate": "source eu_safety_gate, field 'Safety-Gate': the response is not well-formed XML",
    "ca_health_canada": "source ca_health_canada, field 'body': the answer is not a JSON array",
}


def test_garbage_and_a_changed_structure_fail_loudly_and_alert_the_operator(
    make_settings: Callable[..., Settings],
    smtp_sink: SmtpSink,
    run_dag: Callable[..., dict[str, Any]],
    index_prefix: str,
    tmp_path: Path,
) -> None:
    replay = tmp_path / "replay"
    shutil.copytree(REPLAY / "au_accc" / "recorded", replay / "au_accc")
    for source in EXPECTED_ERRORS:
        shutil.copytree(FAULTY / source, replay / source)
    settings = make_settings(
        TBT_SMTP_PORT=str(smtp_sink.port), TBT_CLASSIFIER_MODE="rules", TBT_INDEX_PREFIX=index_prefix
    )
    logical = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0).isoformat()

    run = run_dag("tbt_pipeline", logical, settings, conf={"replay_dir": str(replay)}, retry_delay=1)

    crawls = {t["label"]: t for name, t in run["tasks"].items() if name.startswith("crawl[")}
    assert {label: t["state"] for label, t in crawls.items()} == {
        "au_accc": "success",
        "eu_safety_gate": "failed",
        "ca_health_canada": "failed",
    }, run["log"][-4000:]
    assert crawls["eu_safety_gate"]["try_number"] == crawls["ca_health_canada"]["try_number"] == 3
    later = {name: t["state"] for name, t in run["tasks"].items() if not name.startswith(("crawl[", "due_"))}
    assert later == {
        "plan_tagging": "success",
        "tag_partition[0]": "success",
        "tag_partition[1]": "success",
        "compose": "success",
        "update_index": "success",
        "deliver": "success",
    }

    runs = crawl_runs(settings)
    for source, message in EXPECTED_ERRORS.items():
        mine = [r for r in runs if r[0] == source]
        assert [status for _, status, _, _ in mine] == ["failed"] * 3
        assert all(message in (error or "") for _, _, _, error in mine), mine
    assert [(status, new) for source, status, new, _ in runs if source == "au_accc"] == [("success", 3)]
    counts = table_counts(settings)
    assert counts["measures"] == counts["tagged"] == 3  # the healthy source's records, all tagged

    alerts = {m["Subject"]: m for m in smtp_sink.messages() if m["To"] == settings.operator_email}
    assert sorted(alerts) == [
        "[tbt-alert operator] task tbt_pipeline.crawl[ca_health_canada] failed",
        "[tbt-alert operator] task tbt_pipeline.crawl[eu_safety_gate] failed",
    ]
    for source, message in EXPECTED_ERRORS.items():
        body = alerts[f"[tbt-alert operator] task tbt_pipeline.crawl[{source}] failed"].get_body(("plain",))
        assert body is not None
        assert message in body.get_content()
