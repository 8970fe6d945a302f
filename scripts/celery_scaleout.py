"""Run tbt_pipeline once under Airflow's CeleryExecutor with two workers, once under the
LocalExecutor, and compare. Started by ``scripts/celery-scaleout`` (see its header).

Celery run: a Redis broker on a free loopback port (Debian's redis-server, no persistence),
a throwaway Airflow metadata database and a throwaway tbt-alert database on the test
PostgreSQL (127.0.0.1:5433, user postgres), the api-server, scheduler and dag-processor
(scripts/airflow-local), and two ``airflow celery worker`` processes, each in a UTS
namespace of its own with its own host name (``tbt-worker-1``, ``tbt-worker-2``), so the
task instances' ``hostname`` column tells the workers apart exactly as it tells machines
apart. Local run: the same without broker and workers. Both crawl the same recorded
sources from a replay folder; the tbt-alert results (measures, sector tags, crawl runs)
must be equal. Everything started is stopped and every throwaway database and index is
dropped at the end (``--keep`` keeps the databases for a look).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from devtools.processes import free_port, stop_group  # noqa: E402 - importable only once REPO is on sys.path

AIRFLOW_LOCAL = REPO / "scripts" / "airflow-local"
# The shipped recordings: crawlers/sources/<id>/recorded/ (crawlers.run.replay_folder finds them).
REPLAY = REPO / "crawlers" / "sources"
WORKERS = ("tbt-worker-1", "tbt-worker-2")
# Fixed throwaway secrets shared by every component of one run (never used elsewhere).
FERNET = "49Hdq5tIQnPckw2JgwWBAF2zhz_Qj5fDEIewcCXgReo="
STOP_TIMEOUT = 120.0  # seconds a component may take to stop before its process group is killed


def log(message: str) -> None:
    print(f"[celery-scaleout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def process(argv: list[str], *, env: dict[str, str], logfile: Path, what: str) -> Iterator[subprocess.Popen[bytes]]:
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        # SIGTERM is a warm shutdown for Celery and Airflow: running tasks finish first.
        if stop_group(proc, timeout=STOP_TIMEOUT):
            log(f"{what} did not stop within {STOP_TIMEOUT:.0f}s; killed it")
        log(f"stopped {what} (exit {proc.returncode})")


def redis_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis(state: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed; run: apt-get install redis-server")
    port = free_port()
    # Loopback only, no persistence: a broker for one run. (Redis would refuse nothing as root.)
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(state),
        "--protected-mode",
        "yes",
    ]
    with process(argv, env=dict(os.environ), logfile=state / "redis.log", what=f"redis-server :{port}") as proc:
        deadline = time.monotonic() + 30
        while not redis_up(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"redis-server did not start; see {state / 'redis.log'}")
            time.sleep(0.2)
        log(f"redis-server on 127.0.0.1:{port}")
        yield f"redis://127.0.0.1:{port}"


def airflow_env(
    state: Path, meta_url: str, tbt_env: dict[str, str], executor: str, broker: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TBT_"))}
    port = free_port()
    env.update(tbt_env)
    env.update(
        TBT_AIRFLOW_STATE=str(state),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=meta_url,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=meta_url.replace("+psycopg://", "+psycopg_async://"),
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__CORE__EXECUTOR=executor,
        AIRFLOW__CORE__FERNET_KEY=FERNET,
        AIRFLOW__API_AUTH__JWT_SECRET=f"scaleout-jwt-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        AIRFLOW__API__SECRET_KEY=f"scaleout-api-{uuid.uuid4().hex}",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
    )
    if broker:
        env.update(
            AIRFLOW__CELERY__BROKER_URL=f"{broker}/0",
            AIRFLOW__CELERY__RESULT_BACKEND=f"{broker}/1",
            # One task at a time per worker and no prefetching: the two workers share the crawls.
            AIRFLOW__CELERY__WORKER_CONCURRENCY="1",
            AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER="1",
        )
    return env


def scalar(meta: Any, sql: str) -> Any:
    from sqlalchemy import text

    with meta.connect() as conn:
        return conn.execute(text(sql)).scalar()


def run_once(
    executor: str,
    args: argparse.Namespace,
    work: Path,
    *,
    workers: tuple[str, ...] = WORKERS,
    data_template: str | None = None,
    extra_env: dict[str, str] | None = None,
    label: str | None = None,
    cpus: tuple[int, ...] = (),
) -> dict[str, Any]:
    """One deployment, one run of tbt_pipeline; the task instances and tbt-alert's results.

    ``data_template``: the tbt-alert database starts as a copy of this one (a benchmark's measures)
    instead of empty; ``cpus``: worker i runs on CPU ``cpus[i]`` only (taskset), so it has one core
    and the encoder one thread (it sizes its threads by the process's CPU affinity).
    """
    from sqlalchemy import text

    from devtools.databases import throwaway_database
    from devtools.smtp_sink import SmtpSink
    from schema.engine import make_engine
    from schema.migrate import upgrade

    label = label or executor.replace("Executor", "").lower()
    state = work / label
    (state / "logs").mkdir(parents=True)
    run_id = uuid.uuid4().hex[:8]
    replay = work / "replay"
    result: dict[str, Any] = {"executor": executor}
    with ExitStack() as stack:
        meta_url = stack.enter_context(throwaway_database(f"tbt_scaleout_airflow_{label}_{run_id}", keep=args.keep))
        data_url = stack.enter_context(
            throwaway_database(f"tbt_scaleout_data_{label}_{run_id}", template=data_template, keep=args.keep)
        )
        upgrade(data_url)  # a no-op on a migrated template
        sink = stack.enter_context(SmtpSink(state / "maildir"))
        prefix = f"tbt-scaleout-{label}-{run_id}"
        stack.callback(delete_indices, prefix)
        tbt_env = {
            "TBT_DATA_DIR": str(state / "data"),
            "TBT_DATABASE_URL": data_url,
            "TBT_INDEX_PREFIX": prefix,
            "TBT_REPLAY_DIR": str(replay),
            "TBT_SMTP_PORT": str(sink.port),
            "TBT_CLASSIFIER_MODE": args.classifier_mode,
            "TBT_SECRET_KEY": f"scaleout-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            **(extra_env or {}),
        }
        broker = stack.enter_context(redis(state)) if executor == "CeleryExecutor" else None
        env = airflow_env(state, meta_url, tbt_env, executor, broker)
        running = {
            state / "airflow-local.log": stack.enter_context(
                process(
                    [str(AIRFLOW_LOCAL)],
                    env=env,
                    logfile=state / "airflow-local.log",
                    what="api-server, scheduler, dag-processor",
                )
            )
        }
        if broker:
            for number, name in enumerate(workers):
                pin = f"taskset -c {cpus[number % len(cpus)]} " if cpus else ""
                # A UTS namespace per worker: its own host name, as on a machine of its own.
                argv = [
                    "unshare",
                    "--uts",
                    "--",
                    "sh",
                    "-c",
                    f'hostname {name} && exec {pin}"$0" airflow celery worker --celery-hostname {name}@%h '
                    f"--concurrency 1 --skip-serve-logs --without-gossip --without-mingle",
                    str(AIRFLOW_LOCAL),
                ]
                running[state / f"{name}.log"] = stack.enter_context(
                    process(argv, env=env, logfile=state / f"{name}.log", what=f"worker {name}")
                )

        def all_alive() -> None:
            for logfile, proc in running.items():
                if proc.poll() is not None:
                    tail = logfile.read_text(errors="replace")[-2000:]
                    raise SystemExit(f"{logfile.stem} exited with {proc.returncode}; logs in {state}:\n{tail}")

        meta = make_engine(meta_url)
        stack.callback(meta.dispose)
        started = time.monotonic()
        deadline = started + args.timeout
        log(f"{executor}: waiting for the DAG to be parsed")
        while not safe_scalar(meta, "SELECT count(*) FROM dag WHERE dag_id = 'tbt_pipeline'"):
            all_alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"the DAG was never parsed; see {state / 'logs'}")
            time.sleep(3)
        unpause = subprocess.run(
            [str(AIRFLOW_LOCAL), "airflow", "dags", "unpause", "tbt_pipeline"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if unpause.returncode != 0:
            raise SystemExit(f"unpausing failed: {unpause.stderr[-2000:]}")
        log(f"{executor}: unpaused; waiting for the run")
        state_now = None
        while time.monotonic() < deadline:
            state_now = safe_scalar(meta, "SELECT state FROM dag_run WHERE dag_id = 'tbt_pipeline' ORDER BY id LIMIT 1")
            if state_now in ("success", "failed"):
                break
            all_alive()
            time.sleep(3)
        result["run_state"] = state_now
        result["seconds"] = round(time.monotonic() - started, 1)
        with meta.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT task_id, map_index, rendered_map_index, state, hostname, try_number, start_date, end_date "
                    "FROM task_instance WHERE dag_id = 'tbt_pipeline' ORDER BY task_id, map_index"
                )
            ).all()
        result["tasks"] = [
            {
                "task": r.task_id + (f"[{r.rendered_map_index or r.map_index}]" if r.map_index >= 0 else ""),
                "state": r.state,
                "hostname": r.hostname,
                "try_number": r.try_number,
                "start": r.start_date.isoformat() if r.start_date else None,
                "end": r.end_date.isoformat() if r.end_date else None,
            }
            for r in rows
        ]
        result["tbt"] = tbt_results(data_url)
        result["mails"] = len(sink.messages())
        log(f"{executor}: run {state_now} in {result['seconds']}s; shutting down")
    return result


def safe_scalar(meta: Any, sql: str) -> Any:
    from sqlalchemy.exc import DBAPIError

    try:
        return scalar(meta, sql)
    except DBAPIError:  # the tables appear once `airflow db migrate` has run
        return None


def tbt_results(url: str) -> dict[str, Any]:
    """What the run produced in tbt-alert's database, in a form two runs can be compared by."""
    import hashlib

    from sqlalchemy import func, select

    from schema.engine import make_engine, session_scope
    from schema.models import CrawlRun, Measure, SectorTag

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            tags = session.execute(
                select(SectorTag.measure_id, SectorTag.sector, SectorTag.method, SectorTag.score).order_by(
                    SectorTag.measure_id, SectorTag.sector, SectorTag.method
                )
            ).all()
            digest = hashlib.sha256(json.dumps([[m, s, k, round(v, 4)] for m, s, k, v in tags]).encode()).hexdigest()
            ids = list(session.scalars(select(Measure.id).order_by(Measure.id)))
            return {
                "measures": len(ids),
                "measure_ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
                "tagged": int(
                    session.scalar(select(func.count()).select_from(Measure).where(Measure.tagged_version.is_not(None)))
                    or 0
                ),
                "sector_tags": len(tags),
                "sector_tags_sha256": digest,
                "crawl_runs": sorted(
                    f"{s}:{st}:{n}"
                    for s, st, n in session.execute(select(CrawlRun.source_id, CrawlRun.status, CrawlRun.new))
                ),
            }
    finally:
        engine.dispose()


def delete_indices(prefix: str) -> None:
    url = os.environ.get("TBT_ELASTICSEARCH_URL", "http://127.0.0.1:9200")
    try:
        with urllib.request.urlopen(f"{url}/_cat/indices/{prefix}-*?h=index&expand_wildcards=all", timeout=10) as r:
            names = r.read().decode().split()
        for name in names:  # exact names under our own unique prefix
            urllib.request.urlopen(urllib.request.Request(f"{url}/{name}", method="DELETE"), timeout=30).close()
    except OSError as exc:
        log(f"could not delete the indices under {prefix} ({exc}); delete them by hand")


def checks(runs: dict[str, dict[str, Any]]) -> list[tuple[str, bool, str]]:
    found: list[tuple[str, bool, str]] = []
    for name, run in runs.items():
        failed = [t["task"] for t in run["tasks"] if t["state"] not in ("success", "skipped")]
        found.append(
            (
                f"{name}: run succeeded",
                run["run_state"] == "success" and not failed,
                f"state {run['run_state']}, failed tasks {failed}",
            )
        )
    celery = runs.get("celery")
    if celery:
        crawls = {t["hostname"] for t in celery["tasks"] if t["task"].startswith("crawl[")}
        every = {t["hostname"] for t in celery["tasks"]}
        tagging = {t["hostname"] for t in celery["tasks"] if t["task"].startswith("tag_partition[")}
        found.append(
            (
                "celery: mapped crawl tasks ran on both workers",
                crawls == set(WORKERS),
                f"crawl hosts {sorted(h or '-' for h in crawls)}",
            )
        )
        found.append(
            (
                "celery: mapped tag_partition tasks ran on both workers",
                tagging == set(WORKERS),
                f"tagging hosts {sorted(h or '-' for h in tagging)}",
            )
        )
        found.append(
            (
                "celery: every task ran on a worker",
                every <= set(WORKERS),
                f"hosts {sorted(h or '-' for h in every)}",
            )
        )
    if celery and "local" in runs:
        same = celery["tbt"] == runs["local"]["tbt"]
        found.append(
            (
                "celery result equals the LocalExecutor result",
                same,
                json.dumps({"celery": celery["tbt"], "local": runs["local"]["tbt"]})[:2000]
                if not same
                else f"{celery['tbt']['measures']} measures, {celery['tbt']['sector_tags']} sector tags",
            )
        )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", help="comma-separated sources to replay (default: all)")
    parser.add_argument("--executor", choices=("both", "celery", "local"), default="both")
    parser.add_argument(
        "--classifier-mode",
        choices=("rules", "model"),
        default="rules",
        help="rules (default: no encoder needed, fast) or model (needs `make model`)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per deployment (default 900)")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway databases (their names are printed)")
    args = parser.parse_args(argv)

    available = sorted(p.name for p in REPLAY.iterdir() if (p / "recorded" / "exchanges.json").exists())
    chosen = args.sources.split(",") if args.sources else available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        parser.error(f"no recorded snapshot for {', '.join(unknown)}; choose from {', '.join(available)}")
    work = Path(tempfile.mkdtemp(prefix="tbt-scaleout-"))
    for source in chosen:
        shutil.copytree(REPLAY / source / "recorded", work / "replay" / source)
    log(f"sources: {', '.join(chosen)}; work folder {work}")
    executors = {"celery": "CeleryExecutor", "local": "LocalExecutor"}
    wanted = list(executors) if args.executor == "both" else [args.executor]
    runs = {name: run_once(executors[name], args, work) for name in wanted}
    verdicts = checks(runs)
    for run in runs.values():
        print(f"\n== {run['executor']}: run {run['run_state']} in {run['seconds']} s")
        for task in run["tasks"]:
            print(f"   {task['task']:<34} {task['state']:<8} on {task['hostname']}  (try {task['try_number']})")
        print(
            f"   tbt-alert: {run['tbt']['measures']} measures, {run['tbt']['tagged']} tagged, "
            f"{run['tbt']['sector_tags']} sector tags"
        )
    print()
    for name, ok, detail in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "sources": chosen,
                    "runs": runs,
                    "checks": [{"check": n, "ok": ok, "detail": d} for n, ok, d in verdicts],
                },
                indent=1,
                default=str,
            )
        )
    if all(ok for _, ok, _ in verdicts):
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print(f"logs kept in {work}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
