"""Recall-risk report over all recorded recall data (~65,000 recalls): time per stage.

Set-up (timed, not part of the report figure, cached between runs): every recall in
../shared/data (EU Safety Gate weekly reports, Health Canada open data, CPSC recalls from the
recallsatlas export, the ACCC JSON:API page) parsed by the crawlers' own parsers, validated,
normalised and stored with their ``MeasureStore`` into a SQLite file, then tagged with sectors
by the classifier in its no-encoder ``rules`` mode (keyword rules + HS codes; the transformer
would take ~10 minutes on 2 cores for 65,000 texts and does not change the report's cost).

Figures: ``build_report`` for the whole history (``2005..2025``) cold (first call in the
process: imports, font cache, template compile) and warm, and for one quarter (``2025-Q4``),
each with its stages (load, analyse, score, link_rules, charts, render_html, render_pdf, store).
Baseline side by side: the market × origin counts of the whole history computed by one SQL
GROUP BY inside the database, against our load-into-Python + analyse path (which also resolves
sectors, hazards and severities the SQL cannot); the same totals are checked to agree.

    .venv/bin/python -m bench.bench_report [--rebuild] [--db sqlite:///PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
CACHE = Path.home() / ".cache" / "tbt-alert" / "bench"
TARGET_SECONDS = 60.0


def _bodies(source: str) -> Iterator[tuple[bytes, str]]:
    """The recorded responses of one source, as the spider would receive them."""
    if source == "eu_safety_gate":
        for path in sorted((DATA / "safety_gate" / "weekly_reports").glob("*.xml.gz")):
            yield gzip.decompress(path.read_bytes()), path.as_uri()
    elif source == "ca_health_canada":
        path = DATA / "health_canada" / "HCRSAMOpenData_en_until_2025.json.gz"
        yield (
            gzip.decompress(path.read_bytes()),
            "https://recalls-rappels.canada.ca/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json",
        )
    elif source == "us_cpsc":
        # The recallsatlas files hold API-shaped records (empty fields dropped) in {"meta", "recalls"}.
        for path in sorted((DATA / "cpsc" / "recallsatlas_json").glob("*.json")):
            yield json.dumps(json.loads(path.read_text())["recalls"]).encode(), path.as_uri()
    elif source == "au_accc":
        path = DATA / "australia" / "accc_jsonapi_psa_recall_page_offset4990_limit5.json"
        yield path.read_bytes(), path.as_uri()


def build_database(db_url: str) -> dict[str, Any]:
    """Parse, store and tag every recorded recall; returns the set-up timings."""
    from crawlers.items import MeasureItem
    from crawlers.normalize import normalise
    from crawlers.parsers import get_parser
    from crawlers.pipelines import MeasureStore, check_item, open_crawl_run
    from crawlers.sources import load_source
    from schema.engine import make_engine
    from schema.migrate import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    timings: dict[str, Any] = {}
    try:
        for source in ("eu_safety_gate", "ca_health_canada", "us_cpsc", "au_accc"):
            began = time.perf_counter()
            config = load_source(source)
            store = MeasureStore(engine, config, open_crawl_run(engine, config, None, since=None))
            parse = get_parser(source)
            for body, url in _bodies(source):
                result = parse(body, url, config)
                for item in result.items:
                    checked = check_item(item, config)
                    store.add(normalise(checked, config) if isinstance(checked, MeasureItem) else checked)
                for rejected in result.rejected:
                    store.add(rejected)
            store.flush()
            store.link_follow_ups()
            timings[f"store {source}"] = {
                "seconds": round(time.perf_counter() - began, 1),
                "records": store.counts.seen,
                "rejected": store.counts.rejected,
            }
            print(f"  stored {source}: {timings[f'store {source}']}", flush=True)
        from classifiers.classifier import Classifier
        from classifiers.tagging import tag_pending

        began = time.perf_counter()
        outcome = tag_pending(engine, Classifier.load(mode="rules"), batch_size=1000)
        timings["tag (rules mode)"] = {
            "seconds": round(time.perf_counter() - began, 1),
            "measures": outcome.measures_tagged,
            "tags": outcome.tags_written,
        }
        print(f"  tagged: {timings['tag (rules mode)']}", flush=True)
    finally:
        engine.dispose()
    return timings


def sql_baseline(db_url: str, start: dt.date, end: dt.date) -> tuple[float, dict[str, int]]:
    """Market (source jurisdiction) × origin counts by one GROUP BY in the database."""
    from sqlalchemy import text

    from schema.engine import make_engine

    engine = make_engine(db_url)
    query = text("""
        SELECT s.jurisdiction,
               CASE WHEN m.country_of_origin = 'CHN' OR CAST(m.extra AS TEXT) LIKE '%"CHN"%' THEN 'china'
                    WHEN m.country_of_origin IS NULL
                         AND CAST(m.extra AS TEXT) NOT LIKE '%manufacturer_countries%' THEN 'unknown'
                    ELSE 'other' END AS origin,
               COUNT(*)
        FROM measures m JOIN sources s ON s.id = m.source_id
        WHERE m.kind = 'recall' AND m.parent_id IS NULL AND NOT m.withdrawn
          AND m.published_on >= :start AND m.published_on < :end
        GROUP BY 1, 2""")
    try:
        began = time.perf_counter()
        with engine.connect() as conn:
            rows = conn.execute(query, {"start": start, "end": end}).all()
        seconds = time.perf_counter() - began
    finally:
        engine.dispose()
    counts: dict[str, int] = {}
    for _market, origin, n in rows:
        counts[origin] = counts.get(origin, 0) + int(n)
    return seconds, counts


def python_path(db_url: str, period: str) -> tuple[float, dict[str, int]]:
    from reports.analysis import analyse
    from reports.hazards import load_vocabulary
    from reports.periods import parse_period
    from reports.selection import load_recalls
    from schema.engine import make_engine

    chosen = parse_period(period)
    engine = make_engine(db_url)
    try:
        began = time.perf_counter()
        rows = load_recalls(engine, chosen.start, chosen.end, load_vocabulary())
        result = analyse(rows, chosen)
        seconds = time.perf_counter() - began
    finally:
        engine.dispose()
    return seconds, dict(result.origins)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a cached SQLite file under ~/.cache/tbt-alert/bench)")
    parser.add_argument("--rebuild", action="store_true", help="parse, store and tag the recorded data again")
    args = parser.parse_args()
    print(describe_machine())
    CACHE.mkdir(parents=True, exist_ok=True)
    db_file = CACHE / "report-recalls.sqlite"
    db_url = args.db or f"sqlite:///{db_file}"
    done = CACHE / "report-recalls.done.json"  # written only when the whole set-up succeeded
    setup: dict[str, Any] = {}
    if args.db is None and (args.rebuild or not done.exists()):
        for stale in (db_file, done):
            stale.unlink(missing_ok=True)
    if args.rebuild or (args.db is None and not done.exists()):
        print("building the benchmark database (once; cached)", flush=True)
        setup = build_database(db_url)
        if args.db is None:
            done.write_text(json.dumps(setup, indent=1))
    elif done.exists():
        setup = json.loads(done.read_text())

    from sqlalchemy import func, select

    from reports.recall_risk import build_report
    from schema.engine import make_engine
    from schema.models import Measure
    from tbt_alert.settings import load_settings

    engine = make_engine(db_url)
    with engine.connect() as conn:
        recalls = conn.execute(select(func.count()).select_from(Measure).where(Measure.kind == "recall")).scalar_one()
        dated = conn.execute(
            select(func.min(Measure.published_on), func.max(Measure.published_on)).where(Measure.kind == "recall")
        ).one()
    engine.dispose()
    first, last = dated
    if first is None or last is None:
        raise SystemExit(f"no dated recalls in {db_url}; run with --rebuild to load ../shared/data")
    history = f"{first.year}..{last.year}"

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {
                "TBT_DATA_DIR": tmp,
                "TBT_DATABASE_URL": db_url,
                "TBT_SECRET_KEY": "bench-secret-key-not-for-production-000000",
            }
        )
        runs = []
        for label, period in (
            ("whole history, cold", history),
            ("whole history, warm", history),
            ("one quarter, warm", "2025-Q4"),
        ):
            began = time.perf_counter()
            outcome = build_report(settings, period)
            runs.append((label, period, time.perf_counter() - began, outcome.summary))
        start, end = dt.date(first.year, 1, 1), dt.date(last.year + 1, 1, 1)
        sql_seconds, sql_counts = sql_baseline(db_url, start, end)
        py_seconds, py_counts = python_path(db_url, history)

    print("## Recall-risk report (bench/bench_report.py)\n")
    print(
        f"Database: {db_url.split('///')[-1] if db_url.startswith('sqlite') else 'PostgreSQL'}; "
        f"{recalls:,} recalls, published {first} to {last}.\n"
    )
    if setup:
        print(
            "Set-up (once, then cached; figures of the run that built it): "
            + "; ".join(
                f"{k} {v['seconds']} s ({', '.join(f'{a} {b:,}' for a, b in v.items() if a != 'seconds')})"
                for k, v in setup.items()
            )
            + "\n"
        )
    stages = list(runs[0][3]["timings"])
    print("| run | period | recalls in period | China-made | unknown origin | total s | " + " | ".join(stages) + " |")
    print("|---|---|---:|---:|---:|---:|" + "---:|" * len(stages))
    for label, period, seconds, summary in runs:
        print(
            f"| {label} | {period} | {summary['total_recalls']:,} | {summary['china_made']:,} | "
            f"{summary['unknown_origin']:,} | {seconds:.1f} | "
            + " | ".join(f"{summary['timings'].get(s, 0):.2f}" for s in stages)
            + " |"
        )
    full = runs[1][2]
    print(
        f"\nTarget: whole-history report < {TARGET_SECONDS:.0f} s — warm {full:.1f} s, cold {runs[0][2]:.1f} s: "
        f"{'met' if max(full, runs[0][2]) < TARGET_SECONDS else 'NOT met'}.\n"
    )
    print("Baseline, market × origin counts over the whole history:\n")
    print("| path | seconds | china | other | unknown |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| SQL GROUP BY in the database (counts only) | {sql_seconds:.2f} | {sql_counts.get('china', 0):,} | "
        f"{sql_counts.get('other', 0):,} | {sql_counts.get('unknown', 0):,} |"
    )
    print(
        f"| load + Python analyse (also sectors, hazards, severity) | {py_seconds:.2f} | "
        f"{py_counts.get('china', 0):,} | {py_counts.get('other', 0):,} | {py_counts.get('unknown', 0):,} |"
    )
    agree = sql_counts == py_counts
    print(f"\nRatio Python path / SQL: {py_seconds / sql_seconds:.1f}x; the counts {'agree' if agree else 'DISAGREE'}.")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
