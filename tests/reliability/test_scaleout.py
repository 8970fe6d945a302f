"""Scale-out on the distributed engine: scripts/celery-scaleout runs tbt_pipeline under
Airflow's CeleryExecutor (Redis broker, PostgreSQL metadata database, two Celery workers in
separate processes with their own host names) and under the LocalExecutor, on four
recorded sources. The mapped crawls must spread over both workers (task instances'
``hostname``), and the tbt-alert result must equal the LocalExecutor's.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.reliability.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SOURCES = "au_accc,us_cpsc,eu_safety_gate,wto_eping"


def test_celery_workers_share_the_crawls_and_match_the_local_executor(tmp_path: Path) -> None:
    out = tmp_path / "scaleout.json"
    run = subprocess.run(
        [str(REPO_ROOT / "scripts" / "celery-scaleout"), "--sources", SOURCES, "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    result = json.loads(out.read_text())
    assert all(check["ok"] for check in result["checks"]), result["checks"]

    celery, local = result["runs"]["celery"], result["runs"]["local"]
    crawl_hosts = {t["hostname"] for t in celery["tasks"] if t["task"].startswith("crawl[")}
    assert crawl_hosts == {"tbt-worker-1", "tbt-worker-2"}
    assert sorted(t["task"] for t in celery["tasks"] if t["task"].startswith("crawl[")) == [
        f"crawl[{s}]" for s in sorted(SOURCES.split(","))
    ]
    assert celery["tbt"] == local["tbt"]
    assert celery["tbt"]["measures"] > 0
    assert celery["tbt"]["tagged"] == celery["tbt"]["measures"]
