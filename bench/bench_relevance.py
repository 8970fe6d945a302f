"""Relevance benchmark of search (issue 21): do Chinese, English, Russian and French queries find
the measures that answer them, whatever the measure's language, and how fast?

Data: every recorded measure (bench_search's load: EU Safety Gate, Health Canada, CPSC, the ePing
and Rosstandart replays; about 63,500), stored in a fresh PostgreSQL database, tagged by the real
classifier (sectors, HS suggestions and the sentence vectors search uses) and indexed with
``search.lifecycle.rebuild_index``. The vectors go through the embedding cache, so a second run
does not embed again (the first embeds ~60,000 texts: about 40 minutes on 2 cores).

Judgments: ``bench/relevance_topics.yml``, 23 information needs asked in 4 languages, judged from
the sources' own catalogue fields and by reading every uncatalogued record (the file says how and
why, per topic). Nothing there comes from tbt-alert's classifier or search.

Systems, on the same queries: BM25 over the text fields with the query's words only; BM25 with
query understanding (sector, country and hazard readings boost and filter); kNN over the sentence
vectors only; the hybrid (reciprocal-rank fusion of BM25 and kNN) with words only and with
understanding (the default of ``tbt-alert search`` and the portal); PostgreSQL full text
(``websearch_to_tsquery`` + ``ts_rank``) as a baseline.

Figures: nDCG@10 (gain 2^grade - 1) and recall@50 (relevant records in the top 50 over
min(relevant, 50), so a broad topic with thousands of relevant records can still reach 1), on
condensed lists (unjudged records dropped before scoring), per query language; p50/p95 latency of
a 20-hit page with facets and highlighting, query embedding included, per system.

Usage: ``python -m bench.bench_relevance [--rounds N] [--out FILE]``; PostgreSQL from
TBT_BENCH_POSTGRES_URL, else the local test server; Elasticsearch from TBT_ELASTICSEARCH_URL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
TOPICS = Path(__file__).with_name("relevance_topics.yml")
LANGUAGES = ("zh", "en", "ru", "fr")
# Sources judged for every topic: catalogued ones by their fields, the small ones read one by one.
JUDGED_SOURCES = frozenset({"eu_safety_gate", "ca_health_canada", "wto_eping", "ru_rosstandart"})
NDCG_AT = 10
RECALL_AT = 50
PAGE = 20  # the latency pass asks for the portal's page
# name -> SearchRequest options; the last is what `tbt-alert search` and the portal do by default.
SYSTEMS: dict[str, dict[str, Any]] = {
    "BM25, words only": {"retrieval": "bm25", "understand": False},
    "BM25 + understanding": {"retrieval": "bm25", "understand": True},
    "dense only": {"retrieval": "dense", "understand": False},
    "hybrid, words only": {"retrieval": "hybrid", "understand": False},
    "hybrid + understanding (default)": {"retrieval": "hybrid", "understand": True},
}
BASELINE, DEFAULT = "BM25, words only", "hybrid + understanding (default)"
POSTGRES = "PostgreSQL full text"
# Several values in one field: Health Canada joins them with " - ", Safety Gate risk types with ", ".
SEPARATORS = {"category": " - ", "hazard": " - ", "risk": ", "}


# ------------------------------------------------------------------ judgments


@dataclass(frozen=True)
class Rule:
    """Records of ``source`` meeting every condition are relevant at ``grade``."""

    source: str
    grade: int
    conditions: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Topic:
    id: str
    need: str
    queries: Mapping[str, str]
    rules: tuple[Rule, ...]


def load_topics(path: Path = TOPICS) -> list[Topic]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["topics"]
    topics = []
    for item in raw:
        missing = [lang for lang in LANGUAGES if not item["queries"].get(lang)]
        if missing:
            raise ValueError(f"{path}: topic {item['id']} has no query in {', '.join(missing)}; add one")
        rules = tuple(
            Rule(
                source=r["source"],
                grade=int(r["grade"]),
                conditions={k: tuple(str(v) for v in vs) for k, vs in r.items() if k not in ("source", "grade")},
            )
            for r in item["relevant"]
        )
        topics.append(Topic(item["id"], item["need"], dict(item["queries"]), rules))
    return topics


def _field_values(record: Mapping[str, Any], name: str) -> list[str]:
    column = {"risk": "risk_type"}.get(name, name)
    value = (record.get("extra") or {}).get("organization") if name == "organization" else record.get(column)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    separator = SEPARATORS.get(name)
    return [v.strip() for v in str(value).split(separator)] if separator else [str(value)]


def _holds(record: Mapping[str, Any], name: str, wanted: Sequence[str]) -> bool:
    if name == "keys":
        return str(record["source_key"]) in wanted
    values = _field_values(record, {"hs": "hs_codes", "ics": "ics_codes"}.get(name, name))
    if name in ("hs", "ics"):
        return any(v.startswith(w) for v in values for w in wanted)
    if name == "product_type":
        return any(w.lower() in v.lower() for v in values for w in wanted)
    return any(v in wanted for v in values)


def grade(record: Mapping[str, Any], topic: Topic) -> int | None:
    """The record's grade for the topic; None where its source is not judged (condensed away)."""
    if record["source_id"] not in JUDGED_SOURCES:
        return None
    grades = [
        rule.grade
        for rule in topic.rules
        if rule.source == record["source_id"] and all(_holds(record, k, v) for k, v in rule.conditions.items())
    ]
    return max(grades, default=0)


# ------------------------------------------------------------------ metrics


def ndcg(grades: Sequence[int], all_grades: Sequence[int], k: int = NDCG_AT) -> float:
    def dcg(values: Sequence[int]) -> float:
        return float(sum((2.0**g - 1) / math.log2(i + 2) for i, g in enumerate(values[:k])))

    ideal = dcg(sorted(all_grades, reverse=True))
    return dcg(grades) / ideal if ideal else 0.0


def recall(grades: Sequence[int], n_relevant: int, k: int = RECALL_AT) -> float:
    return sum(1 for g in grades[:k] if g > 0) / float(min(n_relevant, k)) if n_relevant else 0.0


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ------------------------------------------------------------------ run


def _classifier(settings: Any) -> Any:
    """The real classifier, its sentence vectors read through the embedding cache."""
    from classifiers.classifier import Classifier
    from classifiers.encoder import Encoder
    from classifiers.evaluate import CachedEncoder
    from classifiers.train import cache_file_for

    path, precision = Path(settings.encoder_path), settings.encoder_precision
    encoder = CachedEncoder(Encoder.load(path, precision=precision), cache_file_for(path, precision=precision))
    return Classifier.load(mode="model", encoder=encoder, encoder_path=path, precision=precision)


def _records(engine: Any) -> dict[str, dict[str, Any]]:
    from sqlalchemy import select

    from schema.models import Measure

    columns = [Measure.id, Measure.source_id, Measure.source_key, Measure.category, Measure.risk_type,
               Measure.hazard, Measure.product_type, Measure.hs_codes, Measure.ics_codes, Measure.extra]  # fmt: skip
    with engine.connect() as conn:
        return {str(row.id): dict(row._mapping) for row in conn.execute(select(*columns))}


@dataclass
class Setup:
    """What the run measured before the first query."""

    measures: int
    judged: int
    classifier_version: str
    tag_seconds: float
    index_seconds: float
    cluster: str


@dataclass
class Searcher:
    """Runs one query on one system and times it (client wall time, query embedding included)."""

    client: Any
    settings: Any
    engine: Any
    bri: list[str]
    eu: list[str]

    def ranking(self, system: str, query: str, size: int) -> tuple[list[str], float]:
        from bench.bench_search import pg_search
        from search.query import SearchRequest, search_measures
        from search.understanding import forget_readings

        forget_readings()  # each timed search reads its query afresh, as a new query would be
        t0 = time.perf_counter()
        if system == POSTGRES:
            with self.engine.connect() as conn:
                _, ids = pg_search(conn, SearchRequest(q=query, size=size), self.bri, self.eu, dt.date.today())
        else:
            request = SearchRequest(q=query, size=size, **SYSTEMS[system])
            ids = [hit.id for hit in search_measures(self.client, self.settings, request).hits]
        return ids, (time.perf_counter() - t0) * 1000


def prepare(url: str, settings: Any, client: Any) -> tuple[Setup, Any, dict[str, dict[str, Any]]]:
    """Load, tag and index every recorded measure; add PostgreSQL's full-text index."""
    from sqlalchemy import text

    from bench.bench_search import PG_SETUP, load_database
    from classifiers.tagging import tag_pending
    from schema.engine import make_engine
    from schema.migrate import upgrade
    from search.client import cluster_info
    from search.lifecycle import rebuild_index

    upgrade(url)
    n_measures, load_s = load_database(url, quick=False, category_tags=False)
    print(f"loaded {n_measures} measures in {load_s:.0f}s", file=sys.stderr)
    engine = make_engine(url)
    tagged = tag_pending(engine, _classifier(settings), batch_size=512)
    print(f"tagged {tagged.measures_tagged} measures in {tagged.seconds:.0f}s", file=sys.stderr)
    build = rebuild_index(settings, client=client)
    with engine.begin() as conn:
        for statement in PG_SETUP:
            conn.execute(text(statement))
    records = _records(engine)
    info = cluster_info(client, settings)
    judged = sum(1 for r in records.values() if r["source_id"] in JUDGED_SOURCES)
    cluster = f"Elasticsearch {info.version}, Chinese analyzer: {info.chinese_analyzer or 'none'}"
    setup = Setup(n_measures, judged, tagged.classifier_version, tagged.seconds, build.seconds, cluster)
    return setup, engine, records


def reused(url: str, settings: Any, client: Any) -> tuple[Setup, Any, dict[str, dict[str, Any]]]:
    """What a ``--keep`` run left: the tagged database and the index (timings not re-measured)."""
    from schema.engine import make_engine
    from search.client import cluster_info

    engine = make_engine(url)
    records = _records(engine)
    info = cluster_info(client, settings)
    judged = sum(1 for r in records.values() if r["source_id"] in JUDGED_SOURCES)
    cluster = f"Elasticsearch {info.version}, Chinese analyzer: {info.chinese_analyzer or 'none'}"
    return Setup(len(records), judged, "(reused)", 0.0, 0.0, cluster), engine, records


Scores = dict[str, dict[str, list[tuple[float, float]]]]  # system -> language -> (nDCG, recall) per topic


def score(searcher: Searcher, topics: list[Topic], records: dict[str, dict[str, Any]]) -> Scores:
    """One 50-hit ranking per query and system, scored on its condensed list."""
    systems = [*SYSTEMS, POSTGRES]
    scores: Scores = {s: {lang: [] for lang in LANGUAGES} for s in systems}
    for topic in topics:
        grades = {i: grade(r, topic) for i, r in records.items()}
        pool = [g for g in grades.values() if g is not None]
        n_relevant = sum(1 for g in pool if g > 0)
        for lang in LANGUAGES:
            for system in systems:
                ids, _ = searcher.ranking(system, topic.queries[lang], RECALL_AT)
                condensed = [g for g in (grades.get(i) for i in ids) if g is not None]
                scores[system][lang].append((ndcg(condensed, pool), recall(condensed, n_relevant)))
    return scores


def time_queries(searcher: Searcher, queries: list[str], rounds: int) -> dict[str, list[float]]:
    """Every query on every system, interleaved, after one untimed warm-up round."""
    latency: dict[str, list[float]] = {s: [] for s in [*SYSTEMS, POSTGRES]}
    for round_no in range(rounds + 1):
        for query in queries:
            for system in latency:
                _, ms = searcher.ranking(system, query, PAGE)
                if round_no:
                    latency[system].append(ms)
    return latency


def _mean(values: Sequence[float]) -> float:
    return statistics.mean(values) if values else 0.0


def _metric_table(scores: Scores, column: int, title: str) -> list[str]:
    lines = [f"| {title} | " + " | ".join(LANGUAGES) + " | all |", "|---|" + "---|" * (len(LANGUAGES) + 1)]
    for system, by_language in scores.items():
        per = [_mean([s[column] for s in by_language[lang]]) for lang in LANGUAGES]
        every = _mean([s[column] for lang in LANGUAGES for s in by_language[lang]])
        lines.append(f"| {system} | " + " | ".join(f"{v:.3f}" for v in per) + f" | {every:.3f} |")
    return lines


def report(setup: Setup, topics: list[Topic], scores: Scores, latency: dict[str, list[float]], rounds: int) -> str:
    n_queries = len(topics) * len(LANGUAGES)
    lines = [
        "## Search relevance (bench/bench_relevance.py)\n",
        f"{setup.measures} measures (Safety Gate, Health Canada, CPSC, ePing and Rosstandart recordings), "
        f"{setup.judged} of them judged (the {setup.measures - setup.judged} CPSC recalls are unjudged and "
        f"condensed away); tagged by the classifier {setup.classifier_version} in {setup.tag_seconds:.0f}s; "
        f"index built in {setup.index_seconds:.0f}s; {setup.cluster}. {len(topics)} topics x {len(LANGUAGES)} "
        f"languages = {n_queries} queries (bench/relevance_topics.yml).\n",
        *_metric_table(scores, 0, f"nDCG@{NDCG_AT}"),
        "",
        *_metric_table(scores, 1, f"recall@{RECALL_AT}"),
        "",
        f"Latency of a {PAGE}-hit page with facets and highlighting (client wall time, query embedding included; "
        f"{rounds} rounds x {n_queries} queries after a warm-up round, systems interleaved):\n",
        "| latency ms | p50 | p95 | mean |",
        "|---|---|---|---|",
    ]
    for system, values in latency.items():
        lines.append(f"| {system} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | {_mean(values):.1f} |")
    lines += ["", f"Per topic, nDCG@{NDCG_AT} of {BASELINE} -> {DEFAULT} by query language:\n",
              "| topic | " + " | ".join(LANGUAGES) + " |", "|---|" + "---|" * len(LANGUAGES)]  # fmt: skip
    for i, topic in enumerate(topics):
        cells = [f"{scores[BASELINE][lang][i][0]:.2f} -> {scores[DEFAULT][lang][i][0]:.2f}" for lang in LANGUAGES]
        lines.append(f"| {topic.id} | " + " | ".join(cells) + " |")

    def gain(lang: str) -> float:
        return _mean([s[0] for s in scores[DEFAULT][lang]]) - _mean([s[0] for s in scores[BASELINE][lang]])

    hybrid_p95, bm25_p95 = pct(latency[DEFAULT], 95), pct(latency[BASELINE], 95)
    lines += [
        "",
        "Targets (issue 21):",
        f"- hybrid nDCG@{NDCG_AT} >= BM25 + 0.15 on Chinese queries: {gain('zh'):+.3f} "
        f"{'OK' if gain('zh') >= 0.15 else 'MISSED'}",
        f"- hybrid not below BM25 on English queries: {gain('en'):+.3f} {'OK' if gain('en') >= 0 else 'MISSED'}",
        f"- hybrid p95 < 100 ms: {hybrid_p95:.1f} ms {'OK' if hybrid_p95 < 100 else 'MISSED'}",
        f"- BM25 p95 < 25 ms: {bm25_p95:.1f} ms {'OK' if bm25_p95 < 25 else 'MISSED'}",
        f"\nMachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over every query and system")
    parser.add_argument("--out", type=Path, help="also write the report (markdown) to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database and index (prints how to reuse them)")
    parser.add_argument("--reuse", metavar="DATABASE_URL,INDEX_PREFIX", help="query what a --keep run left")
    args = parser.parse_args()
    print(describe_machine())
    sys.path.insert(0, str(REPO))
    from bench.bench_crawl_store import _drop_postgres, _postgres_database
    from bench.bench_search import bench_settings
    from search.client import make_client
    from tbt_alert.countries import countries

    topics = load_topics()
    if args.reuse:
        url, prefix = args.reuse.split(",")
        admin = ""
    else:
        admin, url = _postgres_database()
        prefix = f"tbt-bench-{uuid.uuid4().hex[:6]}"
    settings = bench_settings(url, prefix, "/tmp/tbt-bench-relevance")
    client = make_client(settings, request_timeout=120)
    try:
        setup, engine, records = reused(url, settings, client) if args.reuse else prepare(url, settings, client)
        bri = [c.alpha3 for c in countries() if c.bri]
        eu = [c.alpha3 for c in countries() if c.eu]
        searcher = Searcher(client, settings, engine, bri, eu)
        scores = score(searcher, topics, records)
        latency = time_queries(searcher, [t.queries[lang] for t in topics for lang in LANGUAGES], args.rounds)
        engine.dispose()
    finally:
        if args.keep or args.reuse:
            print(f"kept: --reuse {url},{prefix}", file=sys.stderr)
        else:
            for name in client.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all"):
                client.indices.delete(index=name, ignore_unavailable=True)
            _drop_postgres(admin, url)
    output = report(setup, topics, scores, latency, args.rounds)
    print(output)
    if args.out:
        args.out.write_text(output + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
