"""tbt_recall_risk and tbt_maintenance with ``dag.test()``: each does its job once per
interval, and a rerun of the same logical date mails nothing and adds no backup."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.smtp_sink import SmtpSink
from tbt_alert.settings import Settings

pytestmark = pytest.mark.slow


def _states(run: dict[str, Any]) -> dict[str, str]:
    return {name: task["state"] for name, task in run["tasks"].items()}


def test_recall_risk_report_is_built_and_mailed_to_analysts_once(
    make_settings: Callable[..., Settings], smtp_sink: SmtpSink, run_dag: Callable[..., dict[str, Any]]
) -> None:
    settings = make_settings(TBT_SMTP_PORT=str(smtp_sink.port), TBT_ANALYST_EMAILS="analyst@example.com")
    monday = "2025-11-24T06:00:00+08:00"  # the run for the week 2025-W47 (Mon 17 - Mon 24 November)

    first = run_dag("tbt_recall_risk", monday, settings)
    second = run_dag("tbt_recall_risk", monday, settings)

    assert first["state"] == "success", first["log"][-5000:]
    assert _states(first) == {"build_report": "success", "mail_analysts": "success"}
    assert second["state"] == "success", second["log"][-5000:]
    mails = smtp_sink.messages()
    assert [m["To"] for m in mails] == ["analyst@example.com"]
    assert "2025-W47" in mails[0]["Subject"]
    assert (settings.reports_dir / "recall-risk" / "recall-risk_2025-W47.pdf").exists()


def test_maintenance_backs_up_once_per_night_and_keeps_the_index_in_step(
    make_settings: Callable[..., Settings], index_prefix: str, es: Any, run_dag: Callable[..., dict[str, Any]]
) -> None:
    settings = make_settings(TBT_INDEX_PREFIX=index_prefix)
    night = "2025-11-21T02:30:00+08:00"

    first = run_dag("tbt_maintenance", night, settings)
    second = run_dag("tbt_maintenance", night, settings)

    for run in (first, second):
        assert run["state"] == "success", run["log"][-5000:]
        assert set(_states(run).values()) == {"success"}
    backups = sorted(p.name for p in (settings.data_dir / "backups").iterdir())
    assert backups == ["tbt-alert-2025-11-21.sqlite"]  # that night's, replaced by the rerun
    from search.lifecycle import index_counts

    assert index_counts(settings)["in_sync"] is True  # the first night built the index, the second found it in step
