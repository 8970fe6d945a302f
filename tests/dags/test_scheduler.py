"""The scheduler for real: scripts/airflow-local starts Airflow (api-server, scheduler,
dag-processor, LocalExecutor) on a throwaway PostgreSQL metadata database; we unpause
tbt_pipeline, wait for its first scheduled run to succeed, then stop everything and
check that no Airflow process is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from devtools.databases import throwaway_database
from devtools.processes import free_port
from devtools.smtp_sink import SmtpSink
from schema.engine import make_engine, session_scope
from schema.models import CrawlRun, Measure
from tbt_alert.settings import Settings
from tests.dags.conftest import REPO_ROOT, airflow_env

# The shipped recordings: crawlers/sources/<id>/recorded/ (crawlers.run.replay_folder finds them).
REPLAY = REPO_ROOT / "crawlers" / "sources"
SCRIPT = REPO_ROOT / "scripts" / "airflow-local"
# Start-up, parsing, one run of small tasks and shutdown; generous for a loaded 2-core machine.
DEADLINE_SECONDS = 300

pytestmark = [pytest.mark.slow, pytest.mark.encoder]


@pytest.fixture
def airflow_metadata_url() -> Iterator[str]:
    """A throwaway database for Airflow's own tables on the test PostgreSQL server."""
    name = f"tbt_airflow_{uuid.uuid4().hex[:8]}"
    with throwaway_database(name) as url:
        yield url


def _group_pids(pgid: int) -> set[int]:
    """Running processes of the group (a zombie has exited; only its reaping is pending)."""
    listing = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,stat="], capture_output=True, text=True, check=True).stdout
    return {
        int(pid)
        for pid, group, stat in (line.split() for line in listing.splitlines())
        if int(group) == pgid and not stat.startswith("Z")
    }


def _scalar(engine: Any, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_scheduler_runs_tbt_pipeline_on_postgresql(
    airflow_metadata_url: str,
    postgres_url: str,
    make_settings: Callable[..., Settings],
    index_prefix: str,
    smtp_sink: SmtpSink,
    tmp_path: Path,
) -> None:
    # One small recorded source keeps the run short; the DAG does not know the difference.
    replay = tmp_path / "replay"
    shutil.copytree(REPLAY / "au_accc" / "recorded", replay / "au_accc")
    settings = make_settings(
        TBT_DATABASE_URL=postgres_url,
        TBT_INDEX_PREFIX=index_prefix,
        TBT_SMTP_PORT=str(smtp_sink.port),
        TBT_REPLAY_DIR=str(replay),
    )
    port = free_port()
    async_url = airflow_metadata_url.replace("postgresql+psycopg://", "postgresql+psycopg_async://")
    env = airflow_env(
        tmp_path / "airflow",
        **settings.extra,
        TBT_AIRFLOW_STATE=str(tmp_path / "airflow"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=airflow_metadata_url,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=async_url,
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
    )
    output = (tmp_path / "airflow-local.out").open("wb")
    parent = subprocess.Popen(
        [str(SCRIPT)], cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    meta = make_engine(airflow_metadata_url)
    seen_pids: set[int] = set()
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        # 1. The dag-processor has parsed and stored the DAG (it starts paused).
        while time.monotonic() < deadline:
            assert parent.poll() is None, (tmp_path / "airflow-local.out").read_text()[-3000:]
            seen_pids |= _group_pids(parent.pid)
            try:
                if _scalar(meta, "SELECT count(*) FROM dag WHERE dag_id = 'tbt_pipeline'"):
                    break
            except DBAPIError:  # the tables appear once `airflow db migrate` has run
                pass
            time.sleep(3)
        assert _scalar(meta, "SELECT is_paused FROM dag WHERE dag_id = 'tbt_pipeline'") is True

        # 2. Unpause it the way an operator would.
        unpause = subprocess.run(
            [str(SCRIPT), "airflow", "dags", "unpause", "tbt_pipeline"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert unpause.returncode == 0, unpause.stdout[-2000:] + unpause.stderr[-2000:]

        # 3. The scheduler creates the latest interval's run (no catch-up) and runs it to the end.
        state = None
        while time.monotonic() < deadline:
            seen_pids |= _group_pids(parent.pid)
            state = _scalar(meta, "SELECT state FROM dag_run WHERE dag_id = 'tbt_pipeline' ORDER BY id LIMIT 1")
            if state in ("success", "failed"):
                break
            time.sleep(3)
        # The first run's tasks only: when the test crosses the hour, the scheduler rightly
        # starts the next interval's run too, and its tasks may still be pending.
        first_run = _scalar(meta, "SELECT run_id FROM dag_run WHERE dag_id = 'tbt_pipeline' ORDER BY id LIMIT 1")
        with meta.connect() as conn:
            tasks = {
                (row.task_id, row.map_index): row.state
                for row in conn.execute(
                    text(
                        "SELECT task_id, map_index, state FROM task_instance "
                        "WHERE dag_id = 'tbt_pipeline' AND run_id = :run_id"
                    ),
                    {"run_id": first_run},
                )
            }
        logs = tmp_path / "airflow" / "logs"
        assert state == "success", f"run state {state}, tasks {tasks}; logs in {logs}"
        assert tasks == {
            ("due_sources", -1): "success",
            ("crawl", 0): "success",
            ("plan_tagging", -1): "success",
            ("tag_partition", 0): "success",  # au_accc's 3 measures in TBT_TAGGING_PARTITIONS' default 2
            ("tag_partition", 1): "success",
            ("compose", -1): "success",
            ("update_index", -1): "success",
            ("deliver", -1): "success",
        }
        engine = make_engine(settings.database_url)
        try:
            with session_scope(engine) as session:
                assert (session.scalar(select(func.count()).select_from(Measure)) or 0) > 0
                assert [r.status for r in session.scalars(select(CrawlRun))] == ["success"]
        finally:
            engine.dispose()
    finally:
        meta.dispose()
        # 4. Components first (the script forwards SIGTERM to each and waits), then the parent exits.
        parent.send_signal(signal.SIGTERM)
        try:
            code = parent.wait(timeout=120)
        finally:
            output.close()
        # Whatever is still in the script's own process group was started by this test.
        leftovers = sorted(_group_pids(parent.pid))
        for pid in leftovers:  # never leave them behind, even when the assertions below fail
            os.kill(pid, signal.SIGKILL)
    assert code == 0, (tmp_path / "airflow-local.out").read_text()[-3000:]
    assert leftovers == []
    assert len(seen_pids) >= 4  # the parent, api-server, scheduler, dag-processor (and workers) did run
