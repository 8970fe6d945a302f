"""Search benchmark: index every recorded measure, then 1,000 realistic queries on Elasticsearch
and, side by side in the same run, on PostgreSQL full-text search over the same rows.

Data: every measure the project's parsers read from ../shared/data (EU Safety Gate's 730 weekly
reports, Health Canada's dump, the CPSC recallsatlas exports) plus the crawlers' replay snapshot
(ePing, Rosstandart), stored with ``schema.upsert.store_measures`` into a fresh PostgreSQL database.
Sector tags for the sector filter come from a bench-only category lookup (below), not the classifier.

Figures: indexing docs/s of ``search.lifecycle.rebuild_index`` (database read + documents + bulk +
refresh + alias swap, the whole job), and p50/p95/p99 latency of ``search.query.search_measures``
(text + filters + facets + highlighting, 20 hits) against the same request answered by PostgreSQL
(``tsvector`` GIN index, ``websearch_to_tsquery``, ``ts_rank``, ``ts_headline`` on the page, facets
by GROUPING SETS), each query run on both back to back. The Elasticsearch side is one msearch:
the page of hits, and total + facets as a size-0 request its request cache may keep.
Targets: p95 < 50 ms, >= 2,000 docs/s.

Usage: ``python -m bench.bench_search [--quick] [--queries N]``; PostgreSQL from
TBT_BENCH_POSTGRES_URL, else the local test server; Elasticsearch from TBT_ELASTICSEARCH_URL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
BATCH = 2000
SEED = 20251129
PAGE_SIZE = 20
SKIPPED: list[str] = []  # records left out of the load, with why
# Bench-only sector tags from the sources' own categories (the classifier is not part of this bench).
CATEGORY_SECTORS = {
    "toys": "toys", "childcare": "toys", "clothing_textiles": "textiles_apparel", "clothing": "textiles_apparel",
    "electrical_appliances": "household_appliances", "lighting": "lighting", "cosmetics": "daily_consumer_goods",
    "jewellery": "daily_consumer_goods", "furniture": "building_materials", "machinery": "small_hardware",
    "hand_tools": "small_hardware", "protective_equipment": "textiles_apparel", "medical devices": "medical_devices",
    "consumer products": "daily_consumer_goods", "food": "processed_food",
}  # fmt: skip
TERMS = [
    "toy", "children", "choking", "small parts", "lead", "cadmium", "phthalates", "DEHP", "nickel", "chromium",
    "formaldehyde", "azo dyes", "strangulation", "drawstrings", "burns", "fire", "electric shock", "charger",
    "battery", "lithium", "LED", "lamp", "extension cord", "plug", "hair dryer", "heater", "helmet", "stroller",
    "car seat", "crib", "cosmetics", "mercury", "allergen", "milk", "peanut", "salmonella", "listeria",
    "undeclared", "sulphites", "vehicles", "airbag", "brakes", "seat belt", "magnet", "slime", "boron",
    "balloon", "doll", "plush", "bicycle", "scooter", "hoverboard", "knife", "glass", "mask", "gloves",
    "jacket", "shoes", "leather", "textile", "chemical", "injuries", "suffocation", "laser pointer",
    '"small parts"', '"electric shock"', "fire OR burns", "lead AND paint", "toy NOT balloon",
    "Умное производство", "информационные технологии", "阻燃", "玩具", "food safety", "pesticide residues",
    "labelling", "conformity assessment", "ceramic", "kettle", "smoke alarm", "carbon monoxide",
]  # fmt: skip


# ------------------------------------------------------------------ data


def _items(quick: bool) -> Iterator[Any]:
    from crawlers.items import MeasureItem
    from crawlers.parsers import get_parser
    from crawlers.pipelines import check_item
    from crawlers.sources import load_source

    def run(source: str, body: bytes, url: str) -> Iterator[Any]:
        config = load_source(source)
        for item in get_parser(source)(body, url, config).items:
            checked = check_item(item, config)
            if isinstance(checked, MeasureItem):
                # The files are single-language (English dumps); skip the detector's CPU for the bench.
                yield checked if checked.language else checked.model_copy(update={"language": config.languages[0]})

    reports = sorted((DATA / "safety_gate" / "weekly_reports").glob("*.xml.gz"))
    for path in reports[:60] if quick else reports:
        yield from run("eu_safety_gate", gzip.decompress(path.read_bytes()), path.as_uri())
    from crawlers.sources import load_source as _load

    hc = json.loads(gzip.decompress((DATA / "health_canada" / "HCRSAMOpenData_en_until_2025.json.gz").read_bytes()))
    yield from run("ca_health_canada", json.dumps(hc[:3000] if quick else hc).encode(),
                   _load("ca_health_canada").base_urls["en"])  # fmt: skip
    for path in sorted((DATA / "cpsc" / "recallsatlas_json").glob("*.json")):
        # NORMALIZED export (API field names, the array under "recalls"); re-serialised for the parser.
        recalls = json.loads(path.read_text(encoding="utf-8"))["recalls"]
        yield from run("us_cpsc", json.dumps(recalls).encode(), "https://www.saferproducts.gov/RestWebServices/Recall")
    sources = REPO / "crawlers" / "sources"
    for path in sorted((sources / "wto_eping" / "recorded").glob("*_page_*.json")):
        domain = 1 if path.name.startswith("tbt") else 2
        url = f"https://epingalert.org/api/v1/azureSearch/getAll?language=1&domainIds={domain}&page=1&pageSize=10"
        yield from run("wto_eping", path.read_bytes(), url)
    for path in sorted((sources / "ru_rosstandart" / "recorded").glob("api_page_*.json")):
        yield from run("ru_rosstandart", path.read_bytes(), path.as_uri())


def load_database(url: str, quick: bool, *, category_tags: bool = True) -> tuple[int, float]:
    """Parse and store every recorded measure; ``category_tags``: add the bench-only sector tags
    from the sources' categories (bench_relevance tags with the real classifier instead)."""
    from sqlalchemy import String, select

    from crawlers.sources import load_sources
    from schema.engine import make_engine, session_scope
    from schema.models import Measure, SectorTag, Source
    from schema.upsert import store_measures, upsert

    # Records PostgreSQL would refuse (a value longer than its VARCHAR column) are left out and counted.
    limits = {c.name: c.type.length for c in Measure.__table__.columns if isinstance(c.type, String) and c.type.length}
    engine = make_engine(url)
    start = time.perf_counter()
    with session_scope(engine) as session:
        upsert(session, Source, [
            {"id": c.id, "name": c.name, "kind": c.kind, "jurisdiction": c.jurisdiction}
            for c in load_sources().values()
        ])  # fmt: skip
    batch: list[dict[str, Any]] = []
    for item in _items(quick):
        record = item.to_record()
        too_long = [k for k, n in limits.items() if isinstance(record.get(k), str) and len(record[k]) > n]
        if too_long:
            SKIPPED.append(f"{record['source_id']} {record['source_key']}: {', '.join(too_long)} too long")
            continue
        batch.append(record)
        if len(batch) >= BATCH:
            with session_scope(engine) as session:
                store_measures(session, batch)
            batch = []
    with session_scope(engine) as session:
        store_measures(session, batch)
        rows = session.execute(select(Measure.id, Measure.category)).all()
        tags = [
            SectorTag(measure_id=mid, sector=CATEGORY_SECTORS[cat.lower()], score=0.9, method="rule",
                      evidence={"bench": "category lookup"}, classifier_version="bench")
            for mid, cat in rows if category_tags and cat and cat.lower() in CATEGORY_SECTORS
        ]  # fmt: skip
        session.add_all(tags)
    engine.dispose()
    return len(rows), time.perf_counter() - start


# ------------------------------------------------------------------ PostgreSQL full text


PG_SETUP = [
    # What a team would build instead of Elasticsearch: one tsvector over the same text fields.
    "ALTER TABLE measures ADD COLUMN fts tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
    "coalesce(title,'') || ' ' || coalesce(title_en,'') || ' ' || coalesce(description,'') || ' ' || "
    "coalesce(products,'') || ' ' || coalesce(hazard,'') || ' ' || coalesce(risk_type,'') || ' ' || "
    "coalesce(product_type,'') || ' ' || coalesce(brand,'') || ' ' || coalesce(category,'') || ' ' || "
    "coalesce(document_symbol,''))) STORED",
    "ALTER TABLE measures ADD COLUMN sort_date date GENERATED ALWAYS AS "
    "(coalesce(published_on, distributed_on)) STORED",
    "CREATE INDEX bench_measures_fts ON measures USING gin (fts)",
    "CREATE INDEX bench_measures_sort_date ON measures (sort_date)",
    "CREATE INDEX bench_measures_hs ON measures USING gin ((hs_codes::jsonb))",
    "ANALYZE measures",
    "ANALYZE sector_tags",
]


def pg_where(request: Any, bri: list[str], eu: list[str], today: dt.date) -> tuple[str, dict[str, Any]]:
    clauses, params = ["NOT m.withdrawn"], {}
    if request.q:
        clauses.append("m.fts @@ websearch_to_tsquery('simple', :q)")
        params["q"] = request.q
    for name, column, values in (("countries", "m.country", request.countries), ("kinds", "m.kind", request.kinds),
                                 ("languages", "m.language", request.languages),
                                 ("risks", "m.risk_level", request.risk_levels)):  # fmt: skip
        if values:
            clauses.append(f"{column} = ANY(:{name})")
            params[name] = list(values)
    if request.bri_only:
        clauses.append("m.country = ANY(:bri)")
        params["bri"] = bri
    if request.eu_only:
        clauses.append("m.country = ANY(:eu)")
        params["eu"] = eu
    if request.sectors:
        clauses.append("EXISTS (SELECT 1 FROM sector_tags t WHERE t.measure_id = m.id AND t.sector = ANY(:sectors))")
        params["sectors"] = list(request.sectors)
    if request.hs_prefix:
        clauses.append("EXISTS (SELECT 1 FROM jsonb_array_elements_text(m.hs_codes::jsonb) h WHERE h LIKE :hs)")
        params["hs"] = request.hs_prefix + "%"
    if request.date_from:
        clauses.append("m.sort_date >= :date_from")
        params["date_from"] = request.date_from
    if request.date_to:
        clauses.append("m.sort_date <= :date_to")
        params["date_to"] = request.date_to
    if request.open_for_comment:
        clauses.append("m.comment_deadline >= :today")
        params["today"] = today
    if request.origin_china:
        clauses.append("m.country_of_origin = 'CHN'")
    return " AND ".join(clauses), params


def pg_search(conn: Any, request: Any, bri: list[str], eu: list[str], today: dt.date) -> tuple[int, list[str]]:
    """The same page, total and facets from PostgreSQL; returns (total, the page's measure ids)."""
    from sqlalchemy import text

    where, params = pg_where(request, bri, eu, today)
    rank = "ts_rank(m.fts, websearch_to_tsquery('simple', :q))" if request.q else "0"
    order = {"relevance": f"{rank} DESC, m.sort_date DESC NULLS LAST", "date": "m.sort_date DESC NULLS LAST",
             "deadline": "m.comment_deadline ASC NULLS LAST"}[request.sort]  # fmt: skip
    headline = (
        "ts_headline('simple', coalesce(p.description, ''), websearch_to_tsquery('simple', :q))" if request.q else "''"
    )
    page = conn.execute(text(
        f"SELECT p.id, p.title, {headline} FROM (SELECT m.id, m.title, m.description FROM measures m "
        f"WHERE {where} ORDER BY {order}, m.id LIMIT {request.size} OFFSET {(request.page - 1) * request.size}) p"
    ), params).all()  # fmt: skip
    facets = conn.execute(text(
        f"WITH hits AS (SELECT m.id, m.country, m.kind, m.language, extract(year FROM m.sort_date) AS y, "
        f"m.country = ANY(:bri_all) AS bri, m.comment_deadline >= :today_all AS open FROM measures m WHERE {where}) "
        "SELECT 'g' AS f, country, kind, language, y, bri, open, count(*) FROM hits "
        "GROUP BY GROUPING SETS ((), (country), (kind), (language), (y), (bri), (open)) "
        "UNION ALL SELECT 's', t.sector, NULL, NULL, NULL, NULL, NULL, count(DISTINCT t.measure_id) "
        "FROM hits JOIN sector_tags t ON t.measure_id = hits.id GROUP BY t.sector"
    ), {**params, "bri_all": bri, "today_all": today}).all()  # fmt: skip
    total = next(r[-1] for r in facets if r[0] == "g" and all(v is None for v in r[1:7]))
    return int(total), [str(row[0]) for row in page]


# ------------------------------------------------------------------ queries


def make_queries(n: int, countries: list[str], years: list[int]) -> list[Any]:
    from search.query import SearchRequest

    rng = random.Random(SEED)
    out = []
    for _ in range(n):
        spec: dict[str, Any] = {"size": PAGE_SIZE}
        if rng.random() < 0.75:
            spec["q"] = rng.choice(TERMS) if rng.random() < 0.7 else f"{rng.choice(TERMS)} {rng.choice(TERMS)}"
        if rng.random() < 0.25:
            spec["countries"] = rng.sample(countries, rng.choice((1, 1, 2)))
        if rng.random() < 0.1:
            spec["bri_only"] = True
        if rng.random() < 0.1:
            spec["eu_only"] = True
        if rng.random() < 0.25:
            spec["sectors"] = [rng.choice(sorted(set(CATEGORY_SECTORS.values())))]
        if rng.random() < 0.2:
            spec["kinds"] = [rng.choice(["recall", "recall", "tbt_notification", "standard"])]
        if rng.random() < 0.3:
            first = rng.choice(years)
            spec["date_from"] = dt.date(first, 1, 1)
            spec["date_to"] = dt.date(min(first + rng.choice((0, 1, 4)), max(years)), 12, 31)
        if rng.random() < 0.2:
            spec["origin_china"] = True
        if rng.random() < 0.15:
            spec["risk_levels"] = ["serious"]
        if rng.random() < 0.05:
            spec["open_for_comment"] = True
            spec["as_of"] = dt.date(2025, 6, 1)
        if rng.random() < 0.05:
            spec["hs_prefix"] = rng.choice(["0511", "32", "1803", "04", "2309"])
        spec["sort"] = rng.choices(["relevance", "date", "deadline"], weights=(6, 3, 1))[0]
        if "q" not in spec and spec["sort"] == "relevance":
            spec["sort"] = "date"
        if rng.random() < 0.05:
            spec["page"] = rng.randint(2, 5)
        out.append(SearchRequest(**spec))
    return out


def bench_settings(database_url: str, index_prefix: str, data_dir: str) -> Any:
    """The environment's TBT_* settings, on the bench's own database, index prefix and data folder."""
    from tbt_alert.settings import load_settings

    return load_settings({
        **{k: v for k, v in os.environ.items() if k.startswith("TBT_")},
        "TBT_DATABASE_URL": database_url, "TBT_INDEX_PREFIX": index_prefix, "TBT_DATA_DIR": data_dir,
        "TBT_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    })  # fmt: skip


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the data (smoke run)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2, help="parallel bulk requests of the second rebuild")
    args = parser.parse_args()
    print(describe_machine())
    sys.path.insert(0, str(REPO))
    from sqlalchemy import text

    from bench.bench_crawl_store import _drop_postgres, _postgres_database
    from schema.engine import make_engine
    from schema.migrate import upgrade
    from search.client import cluster_info, make_client
    from search.lifecycle import rebuild_index
    from search.names import alias
    from search.query import search_measures
    from tbt_alert.countries import countries

    admin, url = _postgres_database()
    prefix = f"tbt-bench-{uuid.uuid4().hex[:6]}"
    settings = bench_settings(url, prefix, "/tmp/tbt-bench-search")
    client = make_client(settings, request_timeout=120)
    load_before = os.getloadavg()
    try:
        upgrade(url)
        n_measures, load_s = load_database(url, args.quick)
        print(f"loaded {n_measures} measures into PostgreSQL in {load_s:.0f}s", file=sys.stderr)

        builds = [rebuild_index(settings, client=client, threads=t) for t in (1, args.threads)]
        engine = make_engine(url)
        start = time.perf_counter()
        with engine.begin() as conn:
            for statement in PG_SETUP:
                conn.execute(text(statement))
        pg_index_s = time.perf_counter() - start

        with engine.connect() as conn:
            country_list = [r[0] for r in conn.execute(text(
                "SELECT country FROM measures WHERE country IS NOT NULL "
                "GROUP BY country ORDER BY count(*) DESC LIMIT 25"
            ))]  # fmt: skip
            years = [int(r[0]) for r in conn.execute(text(
                "SELECT DISTINCT extract(year FROM sort_date) FROM measures WHERE sort_date IS NOT NULL"
            ))]  # fmt: skip
        queries = make_queries(args.queries, country_list, sorted(years))
        bri = [c.alpha3 for c in countries() if c.bri]
        eu = [c.alpha3 for c in countries() if c.eu]
        today = dt.date.today()
        es_ms: list[float] = []
        es_took: list[float] = []
        pg_ms: list[float] = []
        es_nonempty = pg_nonempty = 0
        with engine.connect() as conn:
            for request in queries[:50]:  # warm both caches alike
                search_measures(client, settings, request)
                pg_search(conn, request, bri, eu, request.as_of or today)
            for request in queries:
                t0 = time.perf_counter()
                result = search_measures(client, settings, request)
                t1 = time.perf_counter()
                total, _ = pg_search(conn, request, bri, eu, request.as_of or today)
                t2 = time.perf_counter()
                es_ms.append((t1 - t0) * 1000)
                es_took.append(result.took_ms)
                pg_ms.append((t2 - t1) * 1000)
                es_nonempty += result.total > 0
                pg_nonempty += total > 0
        engine.dispose()
        load_after = os.getloadavg()
        info = cluster_info(client, settings)
        count = client.count(index=alias(settings, "measures"))["count"]
    finally:
        for name in client.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all"):
            client.indices.delete(index=name, ignore_unavailable=True)
        _drop_postgres(admin, url)

    print("## Search (bench/bench_search.py)\n")
    print(
        f"{n_measures} measures from ../shared/data (Safety Gate, Health Canada, CPSC exports) and the replay "
        f"snapshot (ePing, Rosstandart); {count} documents indexed; Elasticsearch {info.version}, "
        f"Chinese analyzer: {info.chinese_analyzer or 'none (core standard analyzer)'}. "
        f"{os.cpu_count()} CPUs shared with other work: load average {load_before[0]:.1f} at the start, "
        f"{load_after[0]:.1f} at the end.\n"
    )
    print("| indexing (rebuild_index: DB read, documents, bulk, refresh, alias swap) | seconds | docs/s | target |")
    print("|---|---|---|---|")
    for build, threads in zip(builds, (1, args.threads), strict=True):
        print(
            f"| Elasticsearch, {threads} bulk thread(s) | {build.seconds:.1f} | {build.docs_per_second:,.0f} "
            f"| >= 2,000 {'OK' if build.docs_per_second >= 2000 else 'MISSED'} |"
        )
    print(
        f"| PostgreSQL baseline: tsvector column + GIN index build | {pg_index_s:.1f} | "
        f"{n_measures / pg_index_s:,.0f} | - |\n"
    )
    print(
        f"{len(queries)} queries (75% text, random filters, all facets, highlighting, {PAGE_SIZE} hits; "
        "seeded), each run on both engines back to back after 50 warm-up queries; client-side wall time in ms.\n"
    )
    print("| latency ms | p50 | p95 | p99 | mean | queries with hits |")
    print("|---|---|---|---|---|---|")
    print(
        f"| Elasticsearch (search_measures) | {pct(es_ms, 50):.1f} | {pct(es_ms, 95):.1f} | {pct(es_ms, 99):.1f} "
        f"| {statistics.mean(es_ms):.1f} | {es_nonempty} |"
    )
    print(
        f"| Elasticsearch server `took` | {pct(es_took, 50):.1f} | {pct(es_took, 95):.1f} | {pct(es_took, 99):.1f} "
        f"| {statistics.mean(es_took):.1f} | |"
    )
    print(
        f"| PostgreSQL full text (baseline) | {pct(pg_ms, 50):.1f} | {pct(pg_ms, 95):.1f} | {pct(pg_ms, 99):.1f} "
        f"| {statistics.mean(pg_ms):.1f} | {pg_nonempty} |"
    )
    ratios = {p: pct(pg_ms, p) / pct(es_ms, p) for p in (50, 95, 99)}
    print(
        f"| ratio PostgreSQL / Elasticsearch | {ratios[50]:.2f}x | {ratios[95]:.2f}x | {ratios[99]:.2f}x | "
        f"{statistics.mean(pg_ms) / statistics.mean(es_ms):.2f}x | |\n"
    )
    if SKIPPED:
        print(
            f"Left out of the load: {len(SKIPPED)} records PostgreSQL refuses (value longer than its column), "
            f"e.g. {SKIPPED[0]}.\n"
        )
    print(
        f"p95 target < 50 ms: {'OK' if pct(es_ms, 95) < 50 else 'MISSED'} ({pct(es_ms, 95):.1f} ms). "
        f"Elapsed loading the database (parse + store, not timed above): {load_s:.0f}s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
