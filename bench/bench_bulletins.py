"""Compose + render bulletins for 10,000 subscribers over a day of 300 new measures, then deliver
a share of them to the local SMTP sink.

Baseline, side by side: matching by one SQL query per subscriber (the obvious implementation)
against the batched in-memory matching compose uses; both on the same data.

The 300 measures are CONSTRUCTED for the benchmark: each copies the fields of one of the real
records in tests/fixtures/alerts (cycled) under a new source key, with seeded random tags.
Run: .venv/bin/python -m bench.bench_bulletins [--subscribers N] [--measures N] [--deliver N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session, selectinload

from bench.machine import describe_machine
from devtools.smtp_sink import SmtpSink
from schema.engine import make_engine, session_factory
from schema.ids import measure_id
from schema.migrate import upgrade
from schema.models import Measure, SectorTag, Source, Subscriber, Subscription
from schema.upsert import store_measures
from tbt_alert.countries import to_alpha3
from tbt_alert.settings import load_settings

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "alerts" / "measures.json"
SEEN_AT = dt.datetime(2026, 7, 19, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 7, 20, 0, 5, tzinfo=dt.UTC)
COUNTRIES = ["RUS", "SAU", "ARE", "EUR", "FIN", "UKR", "MWI", "KWT", "BHR", "TWN", "USA", "VNM", "THA", "EGY"]


def _sectors() -> list[str]:
    from classifiers.taxonomy import load_taxonomy

    return [s.code for s in load_taxonomy().sectors]


def _records(n: int, rng: random.Random) -> list[dict[str, Any]]:
    real = json.loads(FIXTURE.read_text(encoding="utf-8"))
    out = []
    for i in range(n):
        base = dict(real[i % len(real)])
        base.pop("provenance")
        for name in ("notification_type", "notified_document"):
            base.pop(name, None)
        base["country"] = rng.choice(COUNTRIES)
        base.pop("country_name")
        origin = base.pop("country_of_origin_name", None)
        base["country_of_origin"] = to_alpha3(origin) if origin and origin != "Unknown" else None
        base["source_key"] = f"BENCH-{i}"
        base["document_symbol"] = None
        for name in ("distributed_on", "published_on", "comment_deadline"):
            if base.get(name):
                base[name] = dt.date.fromisoformat(base[name])
        base["comment_deadline"] = (NOW + dt.timedelta(days=rng.randint(5, 60))).date() if i % 2 else None
        base["extra"] = {"constructed": True, "why": "benchmark copy of a real record's fields"}
        out.append(base)
    return out


def _setup(url: str, subscribers: int, measures: int, seed: int) -> None:
    rng = random.Random(seed)
    sectors = _sectors()
    engine = make_engine(url)
    with session_factory(engine)() as s:
        for source_id, kind in (("wto_eping", "notification"), ("eu_safety_gate", "recall")):
            s.add(Source(id=source_id, name=source_id, kind=kind, jurisdiction="WTO"))
        s.flush()
        records = _records(measures, rng)
        store_measures(s, records, seen_at=SEEN_AT)
        tags = []
        for rec in records:
            for sector in rng.sample(sectors, rng.randint(1, 2)):
                tags.append(
                    {
                        "measure_id": measure_id(rec["source_id"], rec["source_key"]),
                        "sector": sector,
                        "score": round(rng.uniform(0.3, 1.0), 2),
                        "method": "model",
                        "evidence": {},
                        "classifier_version": "bench",
                        "created_at": SEEN_AT,
                    }
                )
        s.execute(insert(SectorTag), tags)
        subs = [
            {
                "id": i + 1,
                "email": f"s{i}@bench.example",
                "language": "zh" if i % 4 else "en",
                "confirmed": True,
                "token_generation": 0,
                "created_at": SEEN_AT,
            }
            for i in range(subscribers)
        ]
        s.execute(insert(Subscriber), subs)
        rows = []
        for i in range(subscribers):
            profile = i % 5
            row: dict[str, Any] = {
                "subscriber_id": i + 1,
                "sectors": [],
                "hs_prefixes": [],
                "countries": [],
                "country_groups": [],
                "keywords": [],
                "kinds": [],
                "frequency": "daily",
                "min_relevance": 0.5,
                "active": True,
                "created_at": SEEN_AT,
            }
            row["sectors"] = rng.sample(sectors, rng.randint(1, 2))
            if profile == 1:
                row["country_groups"] = ["bri"]
            elif profile == 2:
                row["countries"] = rng.sample(COUNTRIES, 3)
            elif profile == 3:
                row["keywords"] = [rng.choice(["phthalate", "vehicle", "milk", "toy", "paint"])]
            rows.append(row)
        s.execute(insert(Subscription), rows)
        s.commit()
    engine.dispose()


def _naive_matching(url: str, sample: int) -> tuple[float, int]:
    """One query per subscriber: measures of the day joined to tags, filtered in SQL."""
    engine = make_engine(url)
    start, end = NOW.replace(hour=0, minute=0) - dt.timedelta(days=1), NOW.replace(hour=0, minute=0)
    from tbt_alert.countries import countries

    bri = [c.alpha3 for c in countries() if c.bri]
    began = time.perf_counter()
    total = 0
    with Session(engine) as s:
        subs = s.scalars(select(Subscription).order_by(Subscription.id).limit(sample)).all()
        for sub in subs:
            query = (
                select(Measure)
                .join(SectorTag, SectorTag.measure_id == Measure.id, isouter=True)
                .where(Measure.last_changed >= start, Measure.last_changed < end)
                .options(selectinload(Measure.sector_tags))
            )
            conditions: list[Any] = []
            if sub.sectors:
                conditions.append(SectorTag.sector.in_(sub.sectors) & (SectorTag.score >= sub.min_relevance))
            for kw in sub.keywords:
                conditions.append(Measure.title.ilike(f"%{kw}%"))
            if conditions:
                query = query.where(or_(*conditions))
            if sub.countries or sub.country_groups:
                codes = list(sub.countries) + (bri if "bri" in sub.country_groups else [])
                query = query.where(Measure.country.in_(codes))
            total += len(set(s.scalars(query).unique()))
    engine.dispose()
    return time.perf_counter() - began, total


def _batched_matching(url: str, sample: int) -> tuple[float, int]:
    from alerts.compose import _load_candidates
    from alerts.matching import MeasurePool

    engine = make_engine(url)
    start, end = NOW.replace(hour=0, minute=0) - dt.timedelta(days=1), NOW.replace(hour=0, minute=0)
    began = time.perf_counter()
    total = 0
    with Session(engine) as s:
        subs = s.scalars(select(Subscription).order_by(Subscription.id).limit(sample)).all()
        candidates, _ = _load_candidates(s, start, end)
        pool = MeasurePool(candidates)
        for sub in subs:
            total += len(pool.match(sub))
    engine.dispose()
    return time.perf_counter() - began, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=300)
    parser.add_argument("--deliver", type=int, default=2_000, help="how many of the mails to deliver")
    parser.add_argument("--baseline-sample", type=int, default=1_000)
    args = parser.parse_args()
    print(describe_machine())
    with tempfile.TemporaryDirectory(prefix="tbt-bench-bulletins-") as tmp, SmtpSink(Path(tmp) / "maildir") as sink:
        env = {
            "TBT_DATA_DIR": tmp,
            "TBT_SECRET_KEY": "bench-secret-key-0123456789-0123456789",
            "TBT_SMTP_PORT": str(sink.port),
            "TBT_SMTP_RATE": "100000",
        }
        settings = load_settings(env)
        upgrade(settings.database_url)
        _setup(settings.database_url, args.subscribers, args.measures, seed=7)

        sample = min(args.baseline_sample, args.subscribers)
        naive_s, naive_n = _naive_matching(settings.database_url, sample)
        batched_s, batched_n = _batched_matching(settings.database_url, sample)

        from alerts.compose import compose_bulletins
        from alerts.delivery import send_pending

        began = time.perf_counter()
        outcome = compose_bulletins(settings, now=NOW)
        compose_s = time.perf_counter() - began

        began = time.perf_counter()
        sent = send_pending(settings, now=NOW, limit=args.deliver)
        send_s = time.perf_counter() - began
        received = len(list((Path(tmp) / "maildir" / "new").iterdir()))
        db_mb = Path(settings.database_url.split("///", 1)[1]).stat().st_size / 1e6

    print("| figure | value |")
    print("|---|---|")
    print(f"| subscribers / measures of the day | {args.subscribers} / {args.measures} |")
    print(
        f"| compose + render + queue (SQLite) | {compose_s:.1f} s ({outcome.bulletins} bulletins, "
        f"{outcome.items} items; target < 60 s) |"
    )
    print(f"| per bulletin | {1000 * compose_s / max(outcome.bulletins, 1):.2f} ms |")
    print(f"| database after compose | {db_mb:.0f} MB |")
    print(
        f"| matching, baseline: one SQL query per subscriber ({sample} subscribers) | {naive_s:.2f} s "
        f"({naive_n} matches) |"
    )
    print(f"| matching, batched pool ({sample} subscribers) | {batched_s:.2f} s ({batched_n} matches) |")
    print(f"| matching speed-up | {naive_s / max(batched_s, 1e-9):.1f}x |")
    print(
        f"| delivery to the local SMTP sink | {sent.sent} sent, {received} received in {send_s:.1f} s = "
        f"{sent.sent / max(send_s, 1e-9):.0f} messages/s |"
    )


if __name__ == "__main__":
    main()
