"""Backfill: the complete recorded data through crawl (replay) -> classify -> index ->
bulletins for 1,000 subscribers -> delivery, then the same at synthetic scale. With the model
classifier, then a re-tag by a new head over the same encoder (tagged beside the served version,
stored vectors of unchanged text read instead of embedded) and the switch (promote + index rebuild).

1x: EU Safety Gate (730 real weekly reports, ~30,000 alerts; the report *list* is
constructed from MANIFEST.csv, see tests/reliability/snapshots.py), Health Canada (the
real 32,832-record dump) and every other source's recorded snapshot (crawlers/sources/<id>/recorded),
each crawled by its real spider from a loopback replay server in a ``scrapy crawl`` child.
Scrapy's politeness delays (DOWNLOAD_DELAY, AutoThrottle) are switched off for the replay
(they exist for the publishers' servers, not for loopback); everything else is as in
production. Nx: after the 1x crawl the measures are copied N-1 times under new ids (same
records, ``~xK`` appended to id, source key and document symbol, untagged), so tagging,
indexing and composing see N times the data. The 1,000 subscribers are CONSTRUCTED
(example.com addresses, sectors/countries cycled, immediate bulletins); mail goes to an in-process
SMTP sink with the rate limit lifted.

Each N runs in a process of its own, so its peak memory (max RSS, and the crawl children's)
is its own. The baseline, side by side, is the 1x row: every row shows time and memory per
N and the ratio to 1x (linear growth = the ratio equals N).

Run: .venv/bin/python -m bench.bench_backfill [--scales 1,2,5,10] [--sg-reports N]
     [--hc-records N] [--subscribers 1000] [--classifier-mode model|rules] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
MARKER = "BACKFILL_RESULT "
FAST_REPLAY = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}
STAGES = (
    "crawl",
    "synthesise",
    "classify",
    "index",
    "subscribers",
    "compose",
    "index_bulletins",
    "deliver",
    "retag",
    "switch",
)


# ------------------------------------------------------------------ data


def build_snapshot(folder: Path, sg_reports: int | None, hc_records: int | None, others: bool) -> dict[str, Any]:
    """The replay folder of the run; returns what it holds."""
    from tests.reliability.snapshots import HEALTH_CANADA_DUMP, health_canada_snapshot, manifest, safety_gate_snapshot

    reports = manifest()
    if sg_reports is not None:
        reports = sorted(reports, key=lambda r: r.published, reverse=True)[:sg_reports]
    safety_gate_snapshot(folder, reports)
    target = health_canada_snapshot(folder)
    hc_total = None
    if hc_records is not None:
        records = json.loads(gzip.decompress(HEALTH_CANADA_DUMP.read_bytes()))[:hc_records]
        hc_total = len(records)
        (target / HEALTH_CANADA_DUMP.name).unlink()
        subset = target / "HCRSAMOpenData_subset.json"
        subset.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        spec = json.loads((target / "exchanges.json").read_text())
        spec["exchanges"][0]["body"] = subset.name
        (target / "exchanges.json").write_text(json.dumps(spec, indent=1))
    copied = []
    if others:
        for source in sorted((REPO / "crawlers" / "sources").iterdir()):
            recorded = source / "recorded"
            if (recorded / "exchanges.json").exists() and not (folder / source.name).exists():
                shutil.copytree(recorded, folder / source.name)
                copied.append(source.name)
    return {
        "safety_gate_reports": len(reports),
        "safety_gate_alerts_listed": sum(r.notifications for r in reports),
        "health_canada_records": hc_total if hc_total is not None else "all (32,832)",
        "other_snapshots": copied,
    }


def subscribers_csv(path: Path, count: int) -> Path:
    """CONSTRUCTED subscribers for the benchmark (example.com; sectors and countries cycled)."""
    from alerts.subscriptions import CSV_COLUMNS
    from classifiers.taxonomy import load_taxonomy

    sectors = [s.code for s in load_taxonomy().sectors]
    countries = ["", "eu", "bri", "USA;CAN", "AUS", "EUR;GBR", "RUS;KAZ", "SAU;ARE"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for i in range(count):
            chosen = ";".join(sectors[(i + k * 7) % len(sectors)] for k in range(1 + i % 3))
            writer.writerow(
                [
                    f"bench-{i:05d}@example.com",
                    f"Bench subscriber {i} (constructed)",
                    "constructed for bench_backfill",
                    "zh" if i % 3 else "en",
                    "immediate",
                    chosen,
                    "",
                    countries[i % len(countries)],
                    "",
                    "",
                    "0.5",
                ]
            )
    return path


def synthesise(settings: Any, copies: int) -> int:
    """Copy every measure ``copies`` times under new ids: the same records at N times the volume."""
    from sqlalchemy import insert, select, update

    from schema.engine import make_engine, session_scope
    from schema.models import Measure

    if copies <= 0:
        return 0
    engine = make_engine(settings.database_url)
    made = 0
    columns = list(Measure.__table__.columns)
    try:
        with session_scope(engine) as session:
            ids = list(session.scalars(select(Measure.id).order_by(Measure.id)))
        for start in range(0, len(ids), 2000):
            with session_scope(engine) as session:
                rows = [
                    dict(r._mapping)
                    for r in session.execute(select(*columns).where(Measure.id.in_(ids[start : start + 2000])))
                ]
                for k in range(1, copies + 1):
                    batch = []
                    for row in rows:
                        copy = dict(row)
                        suffix = f"~x{k}"
                        copy["id"] = f"{row['id']}{suffix}"
                        copy["source_key"] = f"{row['source_key']}{suffix}"
                        if row.get("document_symbol"):
                            copy["document_symbol"] = f"{row['document_symbol']}{suffix}"
                        copy["parent_id"] = None  # linked below, once every copy exists
                        copy["tagged_version"] = None
                        batch.append(copy)
                    session.execute(insert(Measure), batch)
                    made += len(batch)
        with session_scope(engine) as session:
            links = session.execute(
                select(Measure.id, Measure.parent_id).where(Measure.parent_id.is_not(None), Measure.id.in_(ids))
            ).all()
            for k in range(1, copies + 1):
                for child, parent in links:
                    session.execute(
                        update(Measure).where(Measure.id == f"{child}~x{k}").values(parent_id=f"{parent}~x{k}")
                    )
    finally:
        engine.dispose()
    return made


# ------------------------------------------------------------------ one scale, in its own process


def run_scale(n: int, args: argparse.Namespace) -> dict[str, Any]:
    from crawlers.run import crawl, replay_folder
    from crawlers.sources import load_sources
    from devtools.smtp_sink import SmtpSink
    from pipeline import stages
    from schema.migrate import upgrade
    from search.lifecycle import index_counts
    from tbt_alert.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix=f"tbt-backfill-{n}x-"))
    timings: dict[str, float] = {}
    peaks: dict[str, float] = {}
    facts: dict[str, Any] = {"n": n}
    prefix = f"tbt-bench-backfill-{uuid.uuid4().hex[:8]}"
    db_url, drop = _database(args.database, work)
    try:
        with SmtpSink(work / "maildir") as sink:
            settings = load_settings(
                {
                    "TBT_DATA_DIR": str(work / "data"),
                    "TBT_DATABASE_URL": db_url,
                    "TBT_INDEX_PREFIX": prefix,
                    "TBT_CLASSIFIER_MODE": args.classifier_mode,
                    "TBT_SMTP_PORT": str(sink.port),
                    "TBT_SMTP_RATE": "1000",
                    "TBT_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
                    "TBT_ELASTICSEARCH_URL": os.environ.get("TBT_ELASTICSEARCH_URL", "http://127.0.0.1:9200"),
                    **(
                        {"TBT_ENCODER_PATH": os.environ["TBT_ENCODER_PATH"]} if "TBT_ENCODER_PATH" in os.environ else {}
                    ),
                }
            )
            upgrade(settings.database_url)
            stages.sync_sources(settings)

            def timed(name: str, func: Callable[[], Any]) -> Any:
                began = time.perf_counter()
                result = func()
                timings[name] = round(time.perf_counter() - began, 2)
                # max RSS only grows: the stage after which it grew is the one that set the peak.
                peaks[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
                print(
                    f"   {n}x {name}: {timings[name]} s, max RSS so far {peaks[name]} MB", file=sys.stderr, flush=True
                )
                return result

            def crawl_everything() -> dict[str, int]:
                seen = {}
                for config in load_sources().values():
                    if config.enabled and replay_folder(args.replay, config.id) is not None:
                        outcome = crawl(
                            settings, config.id, replay_dir=args.replay, scrapy_settings=FAST_REPLAY, timeout=7200
                        )
                        seen[config.id] = outcome.new
                        if outcome.status == "failed":
                            raise RuntimeError(f"crawl of {config.id} failed: {outcome.error}")
                return seen

            facts["crawled"] = timed("crawl", crawl_everything)
            facts["synthetic_copies"] = timed("synthesise", lambda: synthesise(settings, n - 1))
            facts["classify"] = timed("classify", lambda: stages.classify(settings))
            timed("index", lambda: stages.update_index(settings))
            path = subscribers_csv(work / "subscribers.csv", args.subscribers)
            facts["subscribers"] = timed("subscribers", lambda: stages.demo_subscribers(settings, path))
            later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
            composed = timed("compose", lambda: stages.compose(settings, now=later))
            facts["bulletins"] = composed["bulletins"]
            facts["bulletin_items"] = composed["items"]
            timed("index_bulletins", lambda: stages.update_index(settings))
            delivered = timed("deliver", lambda: stages.deliver(settings, now=later))
            facts["mails_sent"] = delivered["sent"]
            if args.classifier_mode == "model":
                facts["retag"] = timed("retag", lambda: retag_with_a_new_head(settings, work))
                timed("switch", lambda: _switch(settings))
            counts = index_counts(settings)
            facts["measures"] = counts["database"]["measures"]
            facts["indexed"] = counts["index"]
            facts["in_sync"] = counts["in_sync"]
    finally:
        _delete_indices(prefix)
        drop()
        shutil.rmtree(work, ignore_errors=True)
    facts["seconds"] = timings
    facts["max_rss_after_mb"] = peaks
    facts["total_seconds"] = round(sum(timings.values()), 2)
    facts["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    facts["peak_child_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return facts


def retag_with_a_new_head(settings: Any, work: Path) -> dict[str, int]:
    """A new classifier version over the same encoder, as a retrained head is: the committed head
    with every sector's bias lowered by 0.01 (a CONSTRUCTED stand-in for a retrained head). It tags
    beside the served version (issue 26); the stored vectors of unchanged text are read, not embedded
    again (issue 25), so this is the cost of a re-tag after a retraining."""
    from classifiers.classifier import Classifier
    from classifiers.head import HEAD_DIR, Head
    from classifiers.tagging import tag_pending
    from schema.engine import engine_scope

    folder = work / "head-retrained"
    shutil.copytree(HEAD_DIR, folder)
    head = Head.load(folder)
    head.biases = head.biases - 0.01
    head.save(folder)
    classifier = Classifier.load(
        mode="model", encoder_path=Path(settings.encoder_path), head_dir=folder, precision=settings.encoder_precision
    )
    with engine_scope(settings) as engine:
        outcome = tag_pending(engine, classifier)
    return {"tagged": outcome.measures_tagged, "vectors_reused": outcome.vectors_reused, "left": outcome.remaining}


def _switch(settings: Any) -> str | None:
    """Promote the re-tagged version and rebuild the index behind the alias (`classify --retag`)."""
    from search.lifecycle import switch_version

    rebuilt = switch_version(settings)
    return None if rebuilt is None else str(rebuilt.switched_to)


def _database(kind: str, work: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{work / 'data' / 'tbt-alert.sqlite'}", lambda: None
    from sqlalchemy import text

    from devtools.services import postgres_url
    from schema.engine import make_engine

    admin = os.environ.get("TBT_BENCH_POSTGRES_URL", postgres_url())
    name = f"tbt_bench_backfill_{uuid.uuid4().hex[:8]}"

    def execute(sql: str) -> None:
        engine = make_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    execute(f"CREATE DATABASE {name}")
    return admin.rsplit("/", 1)[0] + f"/{name}", lambda: execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _delete_indices(prefix: str) -> None:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(os.environ.get("TBT_ELASTICSEARCH_URL", "http://127.0.0.1:9200"), request_timeout=60)
    try:
        for name in client.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all"):
            client.indices.delete(index=name, ignore_unavailable=True)  # exact names under our own prefix
    finally:
        client.close()


# ------------------------------------------------------------------ report


def report(results: list[dict[str, Any]], what: dict[str, Any], args: argparse.Namespace) -> str:
    base = results[0]
    lines = [
        "## Backfill: crawl (replay) -> classify -> index -> bulletins -> delivery",
        "",
        f"- data: {json.dumps(what, ensure_ascii=False)}",
        f"- classifier mode: {args.classifier_mode}; database: {args.database}; subscribers: {args.subscribers} "
        "(constructed); Scrapy politeness delays off for the loopback replay",
        f"- baseline: the {base['n']}x row; ratios are time (or memory) relative to it",
        "",
        "| N | measures | " + " | ".join(STAGES) + " | total s | x baseline | peak RSS MB | crawl child MB |",
        "|---|---" + "|---" * len(STAGES) + "|---|---|---|---|",
    ]
    for r in results:
        ratio = r["total_seconds"] / base["total_seconds"] if base["total_seconds"] else 0
        lines.append(
            f"| {r['n']}x | {r['measures']} | "
            + " | ".join(str(r["seconds"].get(s, "-")) for s in STAGES)
            + f" | {r['total_seconds']} | {ratio:.2f} (N ratio {r['n'] / base['n']:.0f}) | {r['peak_rss_mb']}"
            f" | {r['peak_child_rss_mb']} |"
        )
    lines += [
        "",
        "| N | bulletins | items | mails sent | index in sync | ms per measure (classify+index) | re-tag: measures,"
        " from stored vectors, per s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        per = 1000 * (r["seconds"]["classify"] + r["seconds"]["index"]) / max(r["measures"], 1)
        retag = r.get("retag") or {}
        rate = retag.get("tagged", 0) / r["seconds"]["retag"] if r["seconds"].get("retag") else 0
        lines.append(
            f"| {r['n']}x | {r['bulletins']} | {r['bulletin_items']} | {r['mails_sent']} | {r['in_sync']} | {per:.2f} "
            f"| {retag.get('tagged', '-')}, {retag.get('vectors_reused', '-')}, {rate:.0f} |"
        )
    lines += [
        "",
        "Max RSS (MB) of the run's process after each stage (it only grows; a jump = that stage's peak):",
        "",
        "| N | " + " | ".join(STAGES) + " |",
        "|---" + "|---" * len(STAGES) + "|",
    ]
    for r in results:
        lines.append(f"| {r['n']}x | " + " | ".join(str(r["max_rss_after_mb"].get(s, "-")) for s in STAGES) + " |")
    crawled = base.get("crawled", {})
    lines += ["", "Crawled per source (1x, new measures): " + ", ".join(f"{k} {v}" for k, v in sorted(crawled.items()))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,2,5,10", help="comma-separated N (default 1,2,5,10)")
    parser.add_argument("--sg-reports", type=int, help="only the newest N Safety Gate reports (default: all 730)")
    parser.add_argument("--hc-records", type=int, help="only the first N Health Canada records (default: all)")
    parser.add_argument("--no-other-sources", action="store_true", help="leave out the small recorded snapshots")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--classifier-mode", choices=("model", "rules"), default="model")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--replay", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    print(describe_machine())

    if args.child:
        print(MARKER + json.dumps(run_scale(args.child, args), default=str), flush=True)
        return 0

    folder = Path(tempfile.mkdtemp(prefix="tbt-backfill-replay-"))
    try:
        what = build_snapshot(folder, args.sg_reports, args.hc_records, not args.no_other_sources)
        print(f"backfill over {json.dumps(what)}; scales {args.scales}", file=sys.stderr, flush=True)
        results = []
        for n in [int(s) for s in args.scales.split(",")]:
            command = [
                sys.executable,
                "-m",
                "bench.bench_backfill",
                "--child",
                str(n),
                "--replay",
                str(folder),
                "--subscribers",
                str(args.subscribers),
                "--classifier-mode",
                args.classifier_mode,
                "--database",
                args.database,
            ]
            proc = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
            found = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
            if proc.returncode != 0 or not found:
                print(f"the {n}x run failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}", file=sys.stderr)
                return 1
            results.append(json.loads(found[-1][len(MARKER) :]))
        print(report(results, what, args))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
