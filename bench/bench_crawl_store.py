"""Parse + store throughput of the recall crawlers over the whole recorded history.

Figures: EU Safety Gate (730 weekly reports, ~30,000 alerts) and Health Canada (~33,000
records), parsed by the same pure parsers the spiders use, validated and normalised
like the item pipelines, and stored with the pipelines' batched ``MeasureStore``
(``schema.upsert.store_measures``) into SQLite and PostgreSQL. Each scenario runs in
its own process so its peak memory (max RSS) is its own.

Baselines side by side: parse only (the cost of storing is the difference), a second
store of the same records (all unchanged: the re-crawl case), and row-by-row ORM
inserts (``session.add`` + commit per record, on the first 2,000 records) against our
batch upsert. Usage: ``python bench/bench_crawl_store.py [--quick]``; PostgreSQL from
TBT_BENCH_POSTGRES_URL, else the local test server (devtools.services.postgres_url).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
ROW_BY_ROW_LIMIT = 2000


def _items(source: str, quick: bool) -> Iterator[Any]:
    from crawlers.items import MeasureItem
    from crawlers.normalize import normalise
    from crawlers.parsers import get_parser
    from crawlers.pipelines import check_item
    from crawlers.sources import load_source

    config = load_source(source)
    parse = get_parser(source)
    if source == "eu_safety_gate":
        files = sorted((DATA / "safety_gate" / "weekly_reports").glob("*.xml.gz"))
        bodies: Iterator[tuple[Path, bytes]] = (
            (f, gzip.decompress(f.read_bytes())) for f in (files[:60] if quick else files)
        )
        url = None
    else:
        path = DATA / "health_canada" / "HCRSAMOpenData_en_until_2025.json.gz"
        body = gzip.decompress(path.read_bytes())
        if quick:
            body = json.dumps(json.loads(body)[:3000]).encode()
        bodies = iter([(path, body)])
        url = config.base_urls["en"]
    for path, body in bodies:
        result = parse(body, url or path.as_uri(), config)
        for item in result.items:
            checked = check_item(item, config)
            yield normalise(checked, config) if isinstance(checked, MeasureItem) else checked
        yield from result.rejected


def scenario(name: str, source: str, db_url: str | None, quick: bool) -> dict[str, Any]:
    from crawlers.items import MeasureItem, Rejected

    start = time.perf_counter()
    counts: dict[str, Any] = {}
    if name == "parse":
        n = sum(1 for i in _items(source, quick) if isinstance(i, MeasureItem))
        counts = {"records": n}
    elif name in ("store", "restore"):
        from crawlers.pipelines import MeasureStore, open_crawl_run
        from crawlers.sources import load_source
        from schema.engine import make_engine

        assert db_url
        engine = make_engine(db_url)
        config = load_source(source)
        store = MeasureStore(engine, config, open_crawl_run(engine, config, None, since=None))
        for item in _items(source, quick):
            store.add(item)
        store.flush()
        store.link_follow_ups()
        c = store.counts
        counts = {
            "records": c.seen,
            "new": c.new,
            "changed": c.changed,
            "unchanged": c.unchanged,
            "rejected": c.rejected,
        }
        engine.dispose()
    elif name == "row_by_row":
        from crawlers.pipelines import open_crawl_run
        from crawlers.sources import load_source
        from schema.engine import make_engine, session_scope
        from schema.models import Measure
        from schema.upsert import prepare_measure

        assert db_url
        engine = make_engine(db_url)
        config = load_source(source)
        open_crawl_run(engine, config, None, since=None)
        n = 0
        for item in _items(source, quick):
            if isinstance(item, Rejected):
                continue
            with session_scope(engine) as session:
                session.add(Measure(**prepare_measure(item.to_record())))
            n += 1
            if n >= ROW_BY_ROW_LIMIT:
                break
        counts = {"records": n}
        engine.dispose()
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "scenario": name,
        "source": source,
        "seconds": round(seconds, 2),
        "records_per_s": round(counts["records"] / seconds) if seconds else 0,
        "peak_mb": round(peak_mb),
        **counts,
    }


def _run(name: str, source: str, db_url: str | None, quick: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--scenario", name, "--source", source]
    if db_url:
        command += ["--db", db_url]
    if quick:
        command.append("--quick")
    out = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    if out.returncode != 0:
        errors = [line[:500] for line in out.stderr.splitlines() if "Error" in line]
        raise SystemExit(f"scenario {name}/{source} failed:\n" + "\n".join(errors[-5:]))
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _postgres_database() -> tuple[str, str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from devtools.services import postgres_url
    from schema.engine import make_engine

    admin = os.environ.get("TBT_BENCH_POSTGRES_URL") or postgres_url()
    name = f"tbt_bench_{uuid.uuid4().hex[:8]}"
    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin, make_url(admin).set(database=name).render_as_string(hide_password=False)


def _drop_postgres(admin: str, url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from schema.engine import make_engine

    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario")
    parser.add_argument("--source")
    parser.add_argument("--db")
    parser.add_argument("--quick", action="store_true", help="60 reports and 3,000 Health Canada records")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    print(describe_machine())
    if str(REPO) not in sys.path:  # run as a script from anywhere
        sys.path.insert(0, str(REPO))
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.source, args.db, args.quick)))
        return 0

    import tempfile

    from schema.migrate import upgrade

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        databases: list[tuple[str, str, str | None]] = []
        sqlite_url = f"sqlite:///{tmp}/bench.sqlite"
        databases.append(("SQLite", sqlite_url, None))
        if not args.sqlite_only:
            admin, pg_url = _postgres_database()
            databases.append(("PostgreSQL", pg_url, admin))
        try:
            for source in ("eu_safety_gate", "ca_health_canada"):
                rows.append({"db": "-", **_run("parse", source, None, args.quick)})
            for label, url, _admin in databases:
                upgrade(url)
                for source in ("eu_safety_gate", "ca_health_canada"):
                    rows.append({"db": label, **_run("store", source, url, args.quick)})
                    rows.append({"db": label, **_run("restore", source, url, args.quick)})
                # Row-by-row baseline into a fresh database so every insert is new.
                if label == "SQLite":
                    base_url = f"sqlite:///{tmp}/rowbyrow.sqlite"
                    upgrade(base_url)
                    rows.append({"db": label, **_run("row_by_row", "eu_safety_gate", base_url, args.quick)})
                else:
                    assert _admin is not None
                    admin2, base_url = _postgres_database()
                    upgrade(base_url)
                    try:
                        rows.append({"db": label, **_run("row_by_row", "eu_safety_gate", base_url, args.quick)})
                    finally:
                        _drop_postgres(admin2, base_url)
        finally:
            for _label, url, maybe_admin in databases:
                if maybe_admin:
                    _drop_postgres(maybe_admin, url)
    _report(rows)
    return 0


def _report(rows: list[dict[str, Any]]) -> None:
    print("## Crawl parse + store (bench_crawl_store.py)\n")
    print("| database | source | scenario | records | seconds | records/s | peak MB | new/changed/unchanged/rejected |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        detail = "/".join(str(r.get(k, "-")) for k in ("new", "changed", "unchanged", "rejected"))
        print(
            f"| {r['db']} | {r['source']} | {r['scenario']} | {r['records']} | {r['seconds']} | "
            f"{r['records_per_s']} | {r['peak_mb']} | {detail} |"
        )

    def rate(db: str, source: str, name: str) -> float:
        found = [r["records_per_s"] for r in rows if (r["db"], r["source"], r["scenario"]) == (db, source, name)]
        return float(found[0]) if found else 0.0

    print()
    for db in ("SQLite", "PostgreSQL"):
        store = rate(db, "eu_safety_gate", "store")
        if not store:
            continue
        parse = rate("-", "eu_safety_gate", "parse")
        row = rate(db, "eu_safety_gate", "row_by_row")
        sg = next(r for r in rows if (r["db"], r["source"], r["scenario"]) == (db, "eu_safety_gate", "store"))
        print(
            f"- {db}: full Safety Gate parse+store {sg['seconds']} s for {sg['records']} alerts "
            f"(target < 120 s); store/parse-only rate ratio {store / parse:.2f}; "
            f"batch upsert vs row-by-row ORM insert {store / row:.1f}x"
            if row and parse
            else ""
        )


if __name__ == "__main__":
    sys.exit(main())
