"""Tagging on 1 vs 2 Celery workers: the same measures, tbt_pipeline's mapped ``tag_partition``
tasks, one worker with one partition against two workers with one partition each.

The measures: every shipped recorded source (crawlers/sources/<id>/recorded) crawled from its
loopback replay into a template database on the test PostgreSQL, then copied under new ids
(bench_backfill's ``synthesise``: the same records N times, untagged) until there are enough
to tag. Each run clones that template, so both tag exactly the same measures. The deployment is
scripts/celery_scaleout.py's: Redis broker, PostgreSQL metadata, api-server, scheduler and
dag-processor, and ``airflow celery worker --concurrency 1`` processes, each pinned to one CPU
(taskset), so each worker has one core and the encoder one thread. The run's replay folder is
empty, so no source is due: the crawl is skipped and the tagging works on the template's
measures. The tagging stage's time is Airflow's own record: from the first ``tag_partition``
task instance's start to the last one's end (the model loads included, once per task).

Partitions are id ranges of near-equal estimated cost (classifiers/partitions.py: each measure's
text up to what the encoder reads, plus a fixed part); ids sort by source, and sources differ in
text length, so ranges of equal counts cost up to twice each other. ``--partitions-per-worker K``
plans K ranges per worker, so a worker that finishes early takes the next.

Run (root, `make services`, redis-server):
    .venv/bin/python -m bench.bench_tagging_workers [--copies 9] [--classifier-mode model|rules]
        [--partitions-per-worker K]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
REPLAY = REPO / "crawlers" / "sources"


def log(message: str) -> None:
    print(f"[bench-tagging {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_template(url: str, copies: int, classifier_mode: str) -> int:
    """Crawl every recorded source into the database at ``url`` and copy its measures ``copies``
    times; how many measures it holds (all untagged)."""
    from sqlalchemy import func, select, update

    from bench.bench_backfill import synthesise
    from pipeline import stages
    from schema.engine import make_engine, session_scope
    from schema.migrate import upgrade
    from schema.models import Measure
    from tbt_alert.settings import load_settings

    upgrade(url)
    work = Path(tempfile.mkdtemp(prefix="tbt-bench-tagging-data-"))
    try:
        settings = load_settings(
            {
                "TBT_DATA_DIR": str(work),
                "TBT_DATABASE_URL": url,
                "TBT_CLASSIFIER_MODE": classifier_mode,
                "TBT_SECRET_KEY": f"bench-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            }
        )
        stages.sync_sources(settings)
        recorded = sorted(p.name for p in REPLAY.iterdir() if (p / "recorded" / "exchanges.json").exists())
        crawls = stages.crawl_sources(settings, recorded, replay_dir=REPLAY)
        failed = [c["source_id"] for c in crawls if c.get("status") == "failed"]
        if failed:
            log(f"crawls failed (their measures are missing, the bench goes on): {failed}")
        synthesise(settings, copies)
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                session.execute(update(Measure).values(tagged_version=None))
                return int(session.scalar(select(func.count()).select_from(Measure)) or 0)
        finally:
            engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tagging_seconds(tasks: list[dict[str, Any]]) -> tuple[float | None, list[str]]:
    """First tag_partition start to last end, and each task instance with its host and seconds."""
    mine = [t for t in tasks if t["task"].startswith("tag_partition[")]
    if not mine or any(t["start"] is None or t["end"] is None for t in mine):
        return None, []
    spans = {
        f"{t['task']}@{t['hostname']}": (dt.datetime.fromisoformat(t["start"]), dt.datetime.fromisoformat(t["end"]))
        for t in mine
    }
    began = min(start for start, _ in spans.values())
    ended = max(end for _, end in spans.values())
    # Each task's own seconds beside it: on a shared machine one core can be far busier than the other.
    hosts = sorted(f"{name} {(end - start).total_seconds():.0f}s" for name, (start, end) in spans.items())
    return round((ended - began).total_seconds(), 1), hosts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=9, help="copies of the crawled measures added (default 9: 10x)")
    parser.add_argument("--classifier-mode", choices=("rules", "model"), default="model")
    parser.add_argument(
        "--partitions-per-worker",
        type=int,
        default=1,
        help="TBT_TAGGING_PARTITIONS = workers x this (default 1); more lets a free worker take the next range",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per deployment (default 1800)")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway databases")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "scripts"))
    import celery_scaleout as scaleout  # scripts/ is no package: the deployment code is reused as it is

    from devtools.databases import throwaway_database

    work = Path(tempfile.mkdtemp(prefix="tbt-bench-tagging-"))
    (work / "replay").mkdir()  # empty: no source is due, the run tags the template's measures
    template = f"tbt_bench_tagging_tpl_{uuid.uuid4().hex[:8]}"
    runs: dict[int, dict[str, Any]] = {}
    with throwaway_database(template, keep=args.keep) as template_url:
        log(f"crawling the recorded sources into {template}, then {args.copies} copies")
        measures = build_template(template_url, args.copies, args.classifier_mode)
        log(f"{measures} untagged measures in the template")
        for count in (1, 2):
            run = scaleout.run_once(
                "CeleryExecutor",
                args,
                work,
                workers=scaleout.WORKERS[:count],
                data_template=template,
                extra_env={"TBT_TAGGING_PARTITIONS": str(count * args.partitions_per_worker)},
                label=f"celery{count}",
                cpus=tuple(range(count)),
            )
            run["tagging_seconds"], run["tagging_hosts"] = tagging_seconds(run["tasks"])
            runs[count] = run
    one, two = runs[1], runs[2]
    same = one["tbt"]["sector_tags_sha256"] == two["tbt"]["sector_tags_sha256"]
    lines = [
        f"tagging on 1 vs 2 Celery workers (one CPU and one thread each), classifier {args.classifier_mode}, "
        f"{measures} measures ({args.copies + 1}x the recorded sources), PostgreSQL, Redis",
        describe_machine(),
        "",
        "| workers | partitions | run | tagged | tagging s | measures/s | task instances (own s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for count, run in runs.items():
        seconds = run["tagging_seconds"]
        rate = f"{run['tbt']['tagged'] / seconds:.1f}" if seconds else "-"
        lines.append(
            f"| {count} | {count * args.partitions_per_worker} | {run['run_state']} | {run['tbt']['tagged']} "
            f"| {seconds} | {rate} | {', '.join(run['tagging_hosts'])} |"
        )
    if one["tagging_seconds"] and two["tagging_seconds"]:
        lines.append(f"\nspeed-up 2 workers / 1 worker: {one['tagging_seconds'] / two['tagging_seconds']:.2f}x")
    lines.append(f"same sector tags on 1 and 2 workers: {'yes' if same else 'NO'}")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"measures": measures, "runs": runs}, indent=1, default=str))
    ok = same and all(r["run_state"] == "success" for r in runs.values())
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs kept in {work}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
