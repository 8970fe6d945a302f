"""DAG integrity: every file in dags/ parses, cheaply, into the DAGs as designed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dags.conftest import REPO_ROOT, airflow_env

# Parsed in a child process: sys.modules there shows exactly what parsing imported.
_DESCRIBE = r"""
import json, sys, time
began = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
seconds = time.perf_counter() - began
dags = {}
for dag_id, dag in bag.dags.items():
    dags[dag_id] = {
        "fileloc": dag.fileloc,
        "schedule": repr(dag.timetable),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
        "params": sorted(dag.params.keys()),
        "tasks": {
            t.task_id: {
                "upstream": sorted(t.upstream_task_ids),
                "trigger_rule": str(t.trigger_rule.value if hasattr(t.trigger_rule, "value") else t.trigger_rule),
                "retries": t.retries,
                "retry_delay": t.retry_delay.total_seconds(),
                "owner": t.owner,
                "execution_timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                "mapped": bool(getattr(t, "is_mapped", False)),
                "on_failure_callback": [f"{c.__module__}.{c.__qualname__}" for c in (t.on_failure_callback or [])]
                    if isinstance(t.on_failure_callback, list)
                    else ([f"{t.on_failure_callback.__module__}.{t.on_failure_callback.__qualname__}"]
                          if t.on_failure_callback else []),
            }
            for t in dag.tasks
        },
    }
heavy = sorted(m for m in ("torch", "transformers", "sklearn", "scrapy", "elasticsearch", "weasyprint", "matplotlib")
               if m in sys.modules)
print(json.dumps({"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": dags,
                  "heavy": heavy, "seconds": seconds}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    state = tmp_path_factory.mktemp("airflow-parse")
    result = subprocess.run(
        [sys.executable, "-c", _DESCRIBE, str(REPO_ROOT / "dags")],
        cwd=REPO_ROOT,
        env=airflow_env(state),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    described: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return described


def test_every_dag_file_parses_without_import_errors(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert sorted(parsed["dags"]) == ["tbt_maintenance", "tbt_pipeline", "tbt_recall_risk"]
    dag_files = {Path(d["fileloc"]).name for d in parsed["dags"].values()}
    on_disk = {p.name for p in (REPO_ROOT / "dags").glob("tbt_*.py")}
    assert dag_files == on_disk


def test_parsing_imports_no_heavy_package(parsed: dict[str, Any]) -> None:
    # torch and transformers above all: a DAG processor parses these files every 30 s.
    assert "torch" not in parsed["heavy"]
    assert "transformers" not in parsed["heavy"]
    assert parsed["heavy"] == []


def test_every_task_has_owner_retries_and_operator_alert(parsed: dict[str, Any]) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert "tbt-alert" in dag["tags"], dag_id
        assert dag["catchup"] is False, dag_id
        assert dag["max_active_runs"] == 1, dag_id
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "tbt-alert", (dag_id, task_id)
            assert task["retries"] == 2, (dag_id, task_id)
            assert task["retry_delay"] == 300, (dag_id, task_id)
            assert task["execution_timeout"] is not None, (dag_id, task_id)
            assert task["on_failure_callback"] == ["pipeline.operator_alerts.task_failed"], (dag_id, task_id)


def test_pipeline_dag_shape(parsed: dict[str, Any]) -> None:
    dag = parsed["dags"]["tbt_pipeline"]
    assert dag["schedule"] == "CronDataIntervalTimetable(expression='0 * * * *', timezone='UTC')"
    assert dag["params"] == ["replay_dir"]
    tasks = dag["tasks"]
    assert {name: t["upstream"] for name, t in tasks.items()} == {
        "due_sources": [],
        "crawl": ["due_sources"],
        "plan_tagging": ["crawl"],
        "tag_partition": ["plan_tagging"],
        "compose": ["tag_partition"],
        "update_index": ["compose"],
        "deliver": ["compose"],
    }
    assert tasks["crawl"]["mapped"] is True
    # Tagging too is mapped, one task instance per planned id range, so several workers share it.
    assert tasks["plan_tagging"]["mapped"] is False
    assert tasks["tag_partition"]["mapped"] is True
    assert tasks["tag_partition"]["trigger_rule"] == "all_success"
    # A failed source must not stop tagging, indexing or delivery of what did arrive ...
    assert tasks["plan_tagging"]["trigger_rule"] == "all_done"
    assert tasks["update_index"]["trigger_rule"] == "all_done"
    assert tasks["deliver"]["trigger_rule"] == "all_done"
    # ... but no bulletin is composed from measures whose tagging failed.
    assert tasks["compose"]["trigger_rule"] == "all_success"


def test_recall_risk_dag_shape(parsed: dict[str, Any]) -> None:
    dag = parsed["dags"]["tbt_recall_risk"]
    assert dag["schedule"] == "CronDataIntervalTimetable(expression='0 6 * * 1', timezone='Asia/Shanghai')"
    assert {name: t["upstream"] for name, t in dag["tasks"].items()} == {
        "build_report": [],
        "mail_analysts": ["build_report"],
    }


def test_maintenance_dag_shape(parsed: dict[str, Any]) -> None:
    dag = parsed["dags"]["tbt_maintenance"]
    assert dag["schedule"] == "CronDataIntervalTimetable(expression='30 2 * * *', timezone='Asia/Shanghai')"
    assert {name: t["upstream"] for name, t in dag["tasks"].items()} == {
        "backup_database": [],
        "prune_raw_payloads": ["backup_database"],
        "check_index": [],
    }
