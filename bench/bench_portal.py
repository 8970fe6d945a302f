"""Portal load benchmark: 50 concurrent clients searching through the running portal on loopback,
beside the same queries sent straight to Elasticsearch in the same run.

Data: the ePing fixture pages (crawlers/sources/wto_eping/recorded, constructed from real rows) and the EU
Safety Gate weekly reports of 2025 from ../shared/data, stored by the real parsers into a fresh
SQLite database and indexed with ``search.lifecycle.rebuild_index`` under a unique index prefix
(deleted afterwards). The portal runs as its own process (``tbt-alert portal``), as deployed.

Figures, per target: requests, errors (non-200 or transport failures) as a rate, throughput, and
p50/p95/p99 latency as seen by the client:
- ``portal /api/search`` (API key, JSON: text + filters + facets + highlighting, 20 hits),
- ``portal /search`` (logged-in session, the rendered HTML page),
- ``elasticsearch _msearch`` with the very bodies ``search.query.search_bodies`` builds for that request.
The overhead ratio is portal latency / Elasticsearch latency (p50 and p95). Bounded: each phase
stops after ``--requests`` requests or ``--seconds`` seconds, whichever comes first (default 600 and
15 s, three phases, plus warm-ups of at most 10 s: under 60 s of load).

Usage: ``python -m bench.bench_portal [--clients 50] [--requests 600] [--seconds 15] [--reports 26]``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
SEED = 20251129
TERMS = [
    "toy", "children", "choking", "small parts", "lead", "cadmium", "phthalates", "nickel", "formaldehyde",
    "strangulation", "drawstrings", "burns", "electric shock", "charger", "battery", "LED", "lamp", "heater",
    "cosmetics", "slime", "boron", "balloon", "doll", "bicycle", "knife", "jacket", "shoes", "chemical",
    "injuries", "suffocation", "玩具", "labelling", "conformity assessment", "food safety", "pesticide",
]  # fmt: skip
KINDS = ["", "recall", "tbt_notification", "sps_notification"]


def _load(settings: Any, reports: int) -> int:
    from tests.crawlers.recorded import cases
    from tests.portal.data import store_pages

    weekly = sorted((DATA / "safety_gate" / "weekly_reports").glob("report_1000*.xml.gz"))[-reports:]
    jobs: list[tuple[str, list[tuple[bytes, str]]]] = [
        ("wto_eping", [(c.body(), c.url) for c in cases("wto_eping")]),
        (
            "eu_safety_gate",
            [
                (
                    gzip.decompress(p.read_bytes()),
                    "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/"
                    + p.stem.split("_")[1].split(".")[0],
                )
                for p in weekly
            ],
        ),
    ]
    return sum(store_pages(settings, source_id, pages) for source_id, pages in jobs)


def _queries(n: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out = []
    for _ in range(n):
        query: dict[str, Any] = {"q": rng.choice(TERMS)}
        kind = rng.choice(KINDS)
        if kind:
            query["kind"] = kind
        if rng.random() < 0.2:
            query["sort"] = "date"
        out.append(query)
    return out


def _request_values(query: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"q": query["q"], "size": 20, "sort": query.get("sort", "relevance")}
    if query.get("kind"):
        values["kinds"] = [query["kind"]]
    return values


async def _phase(
    name: str,
    clients: int,
    queries: list[dict[str, Any]],
    seconds: float,
    send: Callable[[dict[str, Any]], Awaitable[int]],
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    cursor = iter(queries)
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        for query in cursor:
            if time.monotonic() > deadline:
                return
            began = time.perf_counter()
            try:
                status = await send(query)
            except Exception:  # noqa: BLE001 - a transport failure counts as an error, the load goes on
                status = -1
            latencies.append((time.perf_counter() - began) * 1000)
            if status != 200:
                errors += 1
                statuses[status] = statuses.get(status, 0) + 1

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(clients)))
    took = time.monotonic() - began
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")

    return {
        "name": name,
        "requests": len(latencies),
        "errors": errors,
        "seconds": took,
        "rps": len(latencies) / took if took else 0.0,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "statuses": statuses,
    }


async def _run_load(
    base: str, api_key: str, cookie: dict[str, str], es_url: str, settings: Any, args: argparse.Namespace
) -> list[dict[str, Any]]:
    import httpx

    from search.names import alias
    from search.query import SearchRequest, search_bodies

    queries = _queries(args.requests)
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    index = alias(settings, "measures")
    async with (
        httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as portal,
        httpx.AsyncClient(base_url=es_url, limits=limits, timeout=30) as es,
    ):

        async def api(query: dict[str, Any]) -> int:
            r = await portal.get("/api/search", params=query, headers={"X-API-Key": api_key})
            return r.status_code

        async def page(query: dict[str, Any]) -> int:
            r = await portal.get("/search", params=query, cookies=cookie)
            return r.status_code if 'id="total"' in r.text else 599

        async def direct(query: dict[str, Any]) -> int:
            # The msearch the portal sends (search.query.search_measures): the page of hits, and total + facets.
            hits, facets = search_bodies(SearchRequest(**_request_values(query)))
            lines = "".join(json.dumps(part) + "\n" for part in ({}, hits, {}, facets))
            r = await es.post(f"/{index}/_msearch", content=lines, headers={"Content-Type": "application/x-ndjson"})
            if r.status_code == 200 and any("error" in part for part in r.json()["responses"]):
                return 599  # msearch answers 200 and reports each failed search in its own response
            return r.status_code

        # Warm both paths (Elasticsearch caches, the portal's pools) so no phase pays for the first run.
        await _phase("warm-up", args.clients, queries, args.seconds / 3, direct)
        await _phase("warm-up", min(args.clients, 5), queries[:20], args.seconds / 3, api)
        return [
            await _phase("elasticsearch _msearch (direct)", args.clients, queries, args.seconds, direct),
            await _phase("portal /api/search", args.clients, queries, args.seconds, api),
            await _phase("portal /search (HTML)", args.clients, queries, args.seconds, page),
        ]


def _login(base: str, password: str) -> dict[str, str]:
    import httpx

    with httpx.Client(base_url=base, follow_redirects=False) as client:
        html = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token, "no CSRF token on the login page"
        r = client.post("/login", data={"username": "bench", "password": password, "csrf_token": token.group(1)})
        if r.status_code != 303:
            raise SystemExit(f"bench login failed with {r.status_code}")
        return dict(client.cookies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=600, help="requests per phase (bounded)")
    parser.add_argument("--seconds", type=float, default=15.0, help="time limit per phase")
    parser.add_argument("--reports", type=int, default=26, help="Safety Gate weekly reports to load (newest)")
    args = parser.parse_args()
    print(describe_machine())

    from elasticsearch import Elasticsearch

    from devtools.processes import free_port, stop_group
    from portal.users import create_user, issue_api_key
    from schema.engine import make_engine, session_scope
    from schema.migrate import upgrade
    from search.lifecycle import rebuild_index
    from tbt_alert.settings import load_settings

    prefix = f"tbt-bench-portal-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="tbt-bench-portal-") as tmp:
        env = {
            **os.environ,
            "TBT_DATA_DIR": tmp,
            "TBT_INDEX_PREFIX": prefix,
            "TBT_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        }
        env.pop("TBT_DATABASE_URL", None)
        settings = load_settings(env)
        upgrade(settings.database_url)
        began = time.monotonic()
        stored = _load(settings, args.reports)
        es = Elasticsearch(settings.elasticsearch_url, request_timeout=60)
        rebuild_index(settings, client=es)
        password = uuid.uuid4().hex
        engine = make_engine(settings.database_url)
        with session_scope(engine) as session:
            create_user(session, "bench", "staff", password)
            api_key = issue_api_key(session, "bench")
        engine.dispose()
        print(f"loaded and indexed {stored} measures in {time.monotonic() - began:.1f} s")

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "portal", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            import httpx

            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(
                        "the portal did not start: " + (server.stderr.read().decode()[-2000:] if server.stderr else "")
                    )
                time.sleep(0.2)
            cookie = _login(base, password)
            results = asyncio.run(_run_load(base, api_key, cookie, settings.elasticsearch_url, settings, args))
        finally:
            stop_group(server, timeout=10)
            for name in es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all"):
                es.indices.delete(index=name, ignore_unavailable=True)
            es.close()

    print(f"\n## Portal under load ({args.clients} concurrent clients, {stored} measures, loopback)\n")
    print("| target | requests | error rate | req/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        rate = r["errors"] / r["requests"] if r["requests"] else float("nan")
        print(
            f"| {r['name']} | {r['requests']} | {rate:.2%} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {r['p99']:.1f} |"
        )
    for r in results:
        if r["statuses"]:
            print(
                f"\n{r['name']} errors by status (-1 = transport failure, 599 = page without results): {r['statuses']}"
            )
    direct = results[0]
    print("\nOverhead of the portal over Elasticsearch (same queries, same run):\n")
    for r in results[1:]:
        print(
            f"- {r['name']}: p50 x{r['p50'] / direct['p50']:.2f}, p95 x{r['p95'] / direct['p95']:.2f}, "
            f"throughput x{r['rps'] / direct['rps']:.2f}"
        )
    return 0 if all(r["errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
