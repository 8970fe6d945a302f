"""Fixtures for the DAG tests: an Airflow metadata database of their own, and a helper
that runs a DAG with ``dag.test()`` in a child process against given tbt-alert settings.

Airflow reads its configuration once, at import; a child process per run gives each
test its own configuration and keeps Airflow's global state out of the test process.
AIRFLOW_HOME is the repository root, so the repository's airflow.cfg and dags/ are
what is tested; only the state paths are redirected into the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tbt_alert.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
MARKER = "DAG_RESULT "


def airflow_env(state: Path, **overrides: str) -> dict[str, str]:
    """The environment of an Airflow process whose state lives in ``state``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TBT_"))}
    env.update(
        AIRFLOW_HOME=str(REPO_ROOT),
        PYTHONPATH=str(REPO_ROOT),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{state / 'airflow.db'}",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(state / "logs"),
        AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY=str(state / "logs" / "dag_processor"),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(state / "passwords.json"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(state / "plugins"),
        # Fixed test secrets: a real deployment generates its own (scripts/airflow-local).
        AIRFLOW__CORE__FERNET_KEY="49Hdq5tIQnPckw2JgwWBAF2zhz_Qj5fDEIewcCXgReo=",
        AIRFLOW__API_AUTH__JWT_SECRET="test-jwt-secret-not-for-production-0123456789",
    )
    env.update(overrides)
    return env


@pytest.fixture(scope="session")
def airflow_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite Airflow metadata database shared by this session's DAG tests."""
    state = tmp_path_factory.mktemp("airflow")
    result = subprocess.run(
        [AIRFLOW, "db", "migrate"], env=airflow_env(state), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return state


def settings_env(settings: Settings) -> dict[str, str]:
    """The TBT_* environment that reproduces ``settings`` in a child process."""
    return dict(settings.extra)


@pytest.fixture
def run_dag(airflow_state: Path) -> Callable[..., dict[str, Any]]:
    """``run_dag(dag_id, logical_date, settings, conf=None, retry_delay=None)`` -> the run's states."""

    def run(
        dag_id: str,
        logical_date: str,
        settings: Settings,
        *,
        conf: Mapping[str, Any] | None = None,
        retry_delay: float | None = None,
        timeout: float = 900,
    ) -> dict[str, Any]:
        command = [sys.executable, "-m", "tests.dags.dag_runner", dag_id, logical_date]
        if conf is not None:
            command += ["--conf", json.dumps(conf)]
        if retry_delay is not None:
            command += ["--retry-delay", str(retry_delay)]
        env = airflow_env(airflow_state, **settings_env(settings))
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
        tail = f"{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
        assert lines, f"dag.test printed no result (exit {result.returncode}):\n{tail}"
        outcome: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
        outcome["log"] = result.stdout + result.stderr
        return outcome

    return run
