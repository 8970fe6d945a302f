"""Run one DAG with ``dag.test()`` and print its task instances' states as JSON.

Tests run this in a child process: Airflow reads its configuration once, at import,
and each test gives it its own metadata database and environment.

    python -m tests.dags.dag_runner DAG_ID LOGICAL_DATE [--conf JSON] [--retry-delay SECONDS]

``--retry-delay`` shortens every task's delay between retries, so a test can watch a
task exhaust its real retries in seconds; the number of retries stays as designed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "DAG_RESULT "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dag_id")
    parser.add_argument("logical_date", type=dt.datetime.fromisoformat)
    parser.add_argument("--conf", type=json.loads, default=None)
    parser.add_argument("--retry-delay", type=float, default=None)
    args = parser.parse_args(argv)

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    if bag.import_errors:
        print(MARKER + json.dumps({"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}}))
        return 1
    dag = bag.dags[args.dag_id]
    if args.retry_delay is not None:
        for task in dag.tasks:
            task.retry_delay = dt.timedelta(seconds=args.retry_delay)
    run = dag.test(logical_date=args.logical_date, run_after=args.logical_date, run_conf=args.conf)
    states = {}
    for ti in run.get_task_instances():
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[name] = {"state": str(ti.state), "try_number": ti.try_number, "label": ti.rendered_map_index}
    result = {"run_id": run.run_id, "state": str(run.state), "tasks": states}
    print(MARKER + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
