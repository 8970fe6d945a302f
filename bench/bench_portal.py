"""Portal overhead benchmark: clients searching through the running portal on loopback, beside the
same queries sent straight to Elasticsearch in the same run, with one client and with 20 at once.

Data: by default the ePing fixture pages and the newest EU Safety Gate weekly reports of 2025 from
../shared/data, stored by the real parsers into a fresh SQLite database and indexed under a unique
prefix (deleted afterwards). ``--reuse URL,PREFIX,DATA_DIR`` searches what
``bench.bench_relevance --keep`` left instead: every recorded measure (about 63,000), tagged by the
model, with sentence vectors, so the portal's searches are hybrid. The portal runs as its own
process (``tbt-alert portal``), as deployed.

Figures, per number of clients and target: requests, error rate, throughput and p50/p95/p99 latency
as the client saw it, for
- ``elasticsearch _msearch (direct)``: the very msearch round trips the portal sends for the query
  (search.query), query vectors computed beforehand (embedding the query is the portal's work),
- ``portal /api/search`` (API key, JSON: text + filters + facets + highlighting, 20 hits),
- ``portal /search`` (logged-in session, the rendered HTML page),
and the ratio of each to the direct figure. The per-layer split adds up the portal's
``Server-Timing`` header (search.timing): access check, query understanding, query embedding,
Elasticsearch round trips, serialisation, template rendering, the whole app, and what the client
waited beyond the named layers (framework, middleware, HTTP). The 35 query terms repeat, so after
the warm-up the portal's query-vector cache answers most embeddings, as it does for paging and
facet clicks. Bounded: each phase stops after ``--requests`` requests or ``--seconds`` seconds.

Usage: ``python -m bench.bench_portal [--clients 1,20] [--requests 600] [--seconds 15] [--reuse ...]``
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
    send: Callable[[dict[str, Any]], Awaitable[tuple[int, str]]],
) -> dict[str, Any]:
    latencies: list[float] = []
    layers: dict[str, list[float]] = {}
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
                status, timing = await send(query)
            except Exception:  # noqa: BLE001 - a transport failure counts as an error, the load goes on
                status, timing = -1, ""
            latency = (time.perf_counter() - began) * 1000
            latencies.append(latency)
            spans = _server_timing(timing)
            if spans:
                spans["client"] = latency
                for layer, ms in spans.items():
                    layers.setdefault(layer, []).append(ms)
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
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "seconds": took,
        "rps": len(latencies) / took if took else 0.0,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "statuses": statuses,
        # Mean milliseconds per request and layer (a layer a request skipped counts 0 for it).
        "layers": {k: sum(v) / len(latencies) for k, v in layers.items()} if latencies else {},
    }


def _server_timing(header: str) -> dict[str, float]:
    """``{"elasticsearch": 12.3, ...}`` from a ``Server-Timing`` header (search.timing)."""
    spans: dict[str, float] = {}
    for entry in header.split(","):
        name, _, duration = entry.strip().partition(";dur=")
        if name and duration:
            spans[name] = float(duration)
    return spans


def _direct_searches(
    settings: Any, client: Any, queries: list[dict[str, Any]], index: str
) -> dict[str, list[list[dict[str, Any]]]]:
    """Per query, the msearch round trips the portal sends for it, query vectors computed beforehand
    (they are the portal's work, not the engine's): the hybrid search's one msearch, or the kNN list
    then the page when sorted by date; BM25 alone where the index has no vectors."""
    from portal.searching import build_request
    from search.dense import dense_available, knn_clause, query_vector
    from search.query import filter_query, fused_searches, search_bodies

    hybrid = dense_available(settings)
    out: dict[str, list[list[dict[str, Any]]]] = {}
    for query in queries:
        key = json.dumps(query, sort_keys=True)
        if key in out:
            continue
        request = build_request(_request_values(query))
        vector = query_vector(settings, query["q"]) if hybrid else None
        if vector is None:
            hits, facets = search_bodies(request)
            out[key] = [[{"index": index}, hits, {"index": index, "request_cache": True}, facets]]
        elif request.sort == "relevance":
            out[key] = [fused_searches(request, index, knn_clause(vector, filter_query(request)))[0]]
        else:
            knn = knn_clause(vector, filter_query(request))
            nearest = client.search(index=index, knn=knn, size=knn["k"], source=False)["hits"]["hits"]
            hits, facets = search_bodies(request, [hit["_id"] for hit in nearest])
            out[key] = [[{"index": index}, {"knn": knn, "size": knn["k"], "_source": False}]]
            out[key].append([{"index": index}, hits, {"index": index, "request_cache": True}, facets])
    return out


async def _run_load(
    base: str, api_key: str, cookie: dict[str, str], settings: Any, args: argparse.Namespace, clients: int
) -> list[dict[str, Any]]:
    import httpx

    from search.names import alias

    queries = _queries(args.requests)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    index = alias(settings, "measures")
    from search.client import make_client

    direct_searches = _direct_searches(settings, make_client(settings), queries, index)
    async with (
        httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as portal,
        httpx.AsyncClient(base_url=settings.elasticsearch_url, limits=limits, timeout=60) as es,
    ):

        async def api(query: dict[str, Any]) -> tuple[int, str]:
            r = await portal.get("/api/search", params=query, headers={"X-API-Key": api_key})
            return r.status_code, r.headers.get("server-timing", "")

        async def page(query: dict[str, Any]) -> tuple[int, str]:
            r = await portal.get("/search", params=query, cookies=cookie)
            return (r.status_code if 'id="total"' in r.text else 599), r.headers.get("server-timing", "")

        async def direct(query: dict[str, Any]) -> tuple[int, str]:
            for lines in direct_searches[json.dumps(query, sort_keys=True)]:
                body = "".join(json.dumps(part) + "\n" for part in lines)
                r = await es.post("/_msearch", content=body, headers={"Content-Type": "application/x-ndjson"})
                if r.status_code != 200:
                    return r.status_code, ""
                if any("error" in part for part in r.json()["responses"]):
                    return 599, ""  # msearch answers 200 and reports each failed search in its own response
            return 200, ""

        # Warm both paths (Elasticsearch caches, the portal's pools and its encoder) so no phase pays
        # for the first run. The portal answers with words alone while its encoder loads in the
        # background (dense_pending): wait for it.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            r = await portal.get("/api/search", params={"q": "toy"}, headers={"X-API-Key": api_key})
            if r.status_code == 200 and not r.json().get("dense_pending"):
                break
            await asyncio.sleep(1)
        await _phase("warm-up", clients, queries, args.seconds / 3, direct)
        await _phase("warm-up", min(clients, 5), queries[:40], args.seconds, api)
        return [
            await _phase("elasticsearch _msearch (direct)", clients, queries, args.seconds, direct),
            await _phase("portal /api/search", clients, queries, args.seconds, api),
            await _phase("portal /search (HTML)", clients, queries, args.seconds, page),
        ]


def _login(base: str, username: str, password: str) -> dict[str, str]:
    import httpx

    with httpx.Client(base_url=base, follow_redirects=False) as client:
        html = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token, "no CSRF token on the login page"
        r = client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
        if r.status_code != 303:
            raise SystemExit(f"bench login failed with {r.status_code}")
        return dict(client.cookies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,20", help="concurrent clients, one run per number (e.g. 1,20,50)")
    parser.add_argument("--requests", type=int, default=600, help="requests per phase (bounded)")
    parser.add_argument("--seconds", type=float, default=15.0, help="time limit per phase")
    parser.add_argument("--reports", type=int, default=26, help="Safety Gate weekly reports to load (newest)")
    parser.add_argument(
        "--reuse",
        metavar="DATABASE_URL,INDEX_PREFIX,DATA_DIR",
        help="search what `bench.bench_relevance --keep` left (every recorded measure, tagged with the model)",
    )
    args = parser.parse_args()
    print(describe_machine())

    from elasticsearch import Elasticsearch

    from bench.bench_search import bench_settings
    from devtools.processes import free_port, stop_group
    from portal.users import create_user, issue_api_key
    from schema.engine import make_engine, session_scope
    from schema.migrate import upgrade
    from search.lifecycle import rebuild_index

    with tempfile.TemporaryDirectory(prefix="tbt-bench-portal-") as tmp:
        if args.reuse:
            url, prefix, data_dir = args.reuse.split(",")
        else:
            url, prefix, data_dir = f"sqlite:///{tmp}/bench.sqlite", f"tbt-bench-portal-{uuid.uuid4().hex[:8]}", tmp
        settings = bench_settings(url, prefix, data_dir)
        env = {
            **os.environ,
            "TBT_DATABASE_URL": url,
            "TBT_DATA_DIR": data_dir,
            "TBT_INDEX_PREFIX": prefix,
            "TBT_SECRET_KEY": settings.secret_key,
        }
        es = Elasticsearch(settings.elasticsearch_url, request_timeout=60)
        began = time.monotonic()
        if not args.reuse:
            upgrade(settings.database_url)
            _load(settings, args.reports)
            rebuild_index(settings, client=es)
        stored = es.count(index=f"{prefix}-measures")["count"]
        user = f"bench-{uuid.uuid4().hex[:6]}"
        password = uuid.uuid4().hex
        engine = make_engine(settings.database_url)
        with session_scope(engine) as session:
            create_user(session, user, "staff", password)
            api_key = issue_api_key(session, user)
        engine.dispose()
        print(
            f"{stored} measures in the index ({'reused' if args.reuse else 'loaded'}, {time.monotonic() - began:.1f} s)"
        )

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
        runs: list[list[dict[str, Any]]] = []
        try:
            import httpx

            deadline = time.monotonic() + 60
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
            cookie = _login(base, user, password)
            for clients in (int(n) for n in args.clients.split(",")):
                runs.append(asyncio.run(_run_load(base, api_key, cookie, settings, args, clients)))
        finally:
            stop_group(server, timeout=10)
            if not args.reuse:
                for name in es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all"):
                    es.indices.delete(index=name, ignore_unavailable=True)
            es.close()
    _report(runs, stored)
    return 0 if all(r["errors"] == 0 for results in runs for r in results) else 1


LAYERS = ("access", "understand", "embed", "elasticsearch", "serialise", "render", "app", "client")


def _report(runs: list[list[dict[str, Any]]], stored: int) -> None:
    print(f"\n## Portal over Elasticsearch ({stored} measures, loopback)\n")
    print("| clients | target | requests | error rate | req/s | p50 ms | p95 ms | p99 ms | p50 ratio | p95 ratio |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for results in runs:
        direct = results[0]
        for r in results:
            rate = r["errors"] / r["requests"] if r["requests"] else float("nan")
            print(
                f"| {r['clients']} | {r['name']} | {r['requests']} | {rate:.2%} | {r['rps']:.0f} | {r['p50']:.1f} "
                f"| {r['p95']:.1f} | {r['p99']:.1f} | x{r['p50'] / direct['p50']:.2f} "
                f"| x{r['p95'] / direct['p95']:.2f} |"
            )
    print("\nPer-layer split (mean ms per request, from the portal's Server-Timing header; `app` is the")
    print("whole application from the first middleware on, `client` what the client waited):\n")
    print("| clients | target | " + " | ".join(LAYERS) + " | outside the named layers |")
    print("|---:|---|" + "---:|" * (len(LAYERS) + 1))
    for results in runs:
        for r in results[1:]:
            layers = r["layers"]
            named = sum(layers.get(k, 0.0) for k in LAYERS if k not in ("app", "client"))
            cells = " | ".join(f"{layers.get(k, 0.0):.1f}" for k in LAYERS)
            print(f"| {r['clients']} | {r['name']} | {cells} | {layers.get('client', 0.0) - named:.1f} |")
    for results in runs:
        for r in results:
            if r["statuses"]:
                print(
                    f"\n{r['name']} ({r['clients']} clients) errors by status (-1 = transport failure, "
                    f"599 = page without results): {r['statuses']}"
                )


if __name__ == "__main__":
    raise SystemExit(main())
