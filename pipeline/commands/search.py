"""`tbt-alert search "阻燃" --sector toys --country RUS --open-for-comment`: results and facets."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from typing import Any

from pipeline.commands.index import quiet_transport

_MARK = re.compile(r"</?mark>")


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="search the indexed measures (full text, filters, facets)")
    p.add_argument("q", nargs="?", default=None, help='text in any language; AND, OR, NOT and "phrases" work')
    p.add_argument(
        "--country", action="append", default=[], metavar="CODE", help="notifying member, alpha-3 or name (repeatable)"
    )
    p.add_argument("--bri", action="store_true", help="Belt-and-Road countries only")
    p.add_argument("--eu", action="store_true", help="EU and its member states only")
    p.add_argument("--sector", action="append", default=[], help="sector code (repeatable)")
    p.add_argument(
        "--hs",
        metavar="PREFIX",
        help="HS code prefix, e.g. 9503: codes the source lists or, where it lists none, suggested codes (推测)",
    )
    p.add_argument(
        "--hs-source",
        choices=("any", "declared"),
        default="any",
        help="declared: match only the HS codes the source lists, never a suggested one",
    )
    p.add_argument(
        "--standard",
        action="append",
        default=[],
        metavar="DESIGNATION",
        help='a cited standard, e.g. "IEC 60335": every part and edition (repeatable; all must be cited)',
    )
    p.add_argument("--kind", action="append", default=[], help="tbt_notification, sps_notification, recall, ...")
    p.add_argument("--language", action="append", default=[], help="ISO 639-1 language the text is in")
    p.add_argument("--from", dest="date_from", type=dt.date.fromisoformat, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=dt.date.fromisoformat, metavar="YYYY-MM-DD")
    p.add_argument("--open-for-comment", action="store_true", help="comment period still open")
    p.add_argument("--deadline-within", type=int, metavar="DAYS", help="comment deadline in the next DAYS days")
    p.add_argument("--risk", action="append", default=[], help="risk level (serious, high, ...)")
    p.add_argument("--origin-china", action="store_true", help="recalls of products made in China")
    p.add_argument(
        "--literal",
        action="store_true",
        help="search the words as typed: no sector, country, hazard or HS heading read into them",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="KIND:CODE",
        help="switch off one reading of the query, as the 已识别 line names it (e.g. country:DEU; repeatable)",
    )
    p.add_argument("--sort", choices=("relevance", "date", "deadline"), default="relevance")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--size", type=int, default=10)
    p.add_argument("--after", help="search_after value of the previous page (JSON list) for deep paging")
    p.add_argument(
        "--retrieval",
        choices=("hybrid", "bm25", "dense"),
        default="hybrid",
        help="hybrid (default): words and the query's meaning across languages, fused; bm25: words only; "
        "dense: meaning only (loads the encoder once, a few seconds)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (the whole response)")
    p.set_defaults(handler=_search)


def _search(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from search.client import make_client
    from search.query import SearchRequest, search_measures
    from tbt_alert.errors import SearchError
    from tbt_alert.settings import load_settings

    try:
        request = SearchRequest(
            q=args.q, countries=args.country, bri_only=args.bri, eu_only=args.eu, sectors=args.sector,
            hs_prefix=args.hs, hs_source=args.hs_source, standards=args.standard, kinds=args.kind,
            languages=args.language,
            date_from=args.date_from, date_to=args.date_to, open_for_comment=True if args.open_for_comment else None,
            deadline_within_days=args.deadline_within, risk_levels=args.risk,
            origin_china=True if args.origin_china else None, sort=args.sort, page=args.page, size=args.size,
            search_after=json.loads(args.after) if args.after else None, retrieval=args.retrieval,
            understand=not args.literal, ignore=args.ignore,
        )  # fmt: skip
    except (ValidationError, json.JSONDecodeError) as exc:
        raise SearchError(f"invalid search: {_first_error(exc)}") from None
    quiet_transport(args)
    settings = load_settings()
    response = search_measures(make_client(settings), settings, request)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    first = _first_number(request)
    print(f"{response.total} measures ({response.took_ms} ms, {response.retrieval})")
    for line in _interpretation_lines(response.interpretation):
        print(line)
    for n, hit in enumerate(response.hits, start=first):
        f = hit.fields
        when = f.get("date", "")[:10]
        deadline = f" comments until {f['comment_deadline'][:10]}" if f.get("comment_deadline") else ""
        flag = " [OPEN]" if hit.open_for_comment else ""
        print(f"\n{n}. {_plain(hit.highlights.get('title', [f['title']])[0])}")
        print(
            f"   {f.get('country', '---')} {f['kind']} {f.get('document_symbol') or f['source_key']} {when}"
            f"{deadline}{flag}"
        )
        if f.get("sector_codes"):
            print(f"   sectors: {', '.join(f['sector_codes'])}")
        for line in _hs_lines(f, hit.hs_match):
            print(f"   {line}")
        if f.get("standard_codes"):
            print(f"   standards (引用标准): {', '.join(s['code'] for s in f.get('standards') or [])}")
        for field, fragments in hit.highlights.items():
            if field != "title":
                print(f"   {field}: …{_plain(fragments[0])}…")
        if f.get("url"):
            print(f"   {f['url']}")
    print()
    for name, buckets in response.facets.items():
        if buckets:
            print(f"{name}: " + ", ".join(f"{b.key} {b.count}" for b in buckets[:12]))
    if response.search_after:
        print(f"\nnext page: --after '{json.dumps(response.search_after)}'")
    return 0


def _interpretation_lines(reading: Any) -> list[str]:
    """已识别：行业 玩具 · 国家 德国, each reading's key to switch it off, and the words searched as typed."""
    if reading is None or not reading.items:
        return []
    from search.understanding import KIND_LABELS

    readings = " · ".join(f"{KIND_LABELS[i.kind]} {i.label_zh} [{i.key}]" for i in reading.items)
    lines = [f"已识别 (understood)：{readings}"]
    if reading.free_text:
        lines.append(f"其余词语 (other words)：{reading.free_text}")
    lines.append("按原文检索 (words as typed)：--literal；取消一项 (drop one)：--ignore KIND:CODE")
    return lines


def _first_number(request: Any) -> int:
    """The number of the page's first hit: a fused page knows its offset (``["rrf", n]``); a
    search_after page of sort values does not, and counts from 1."""
    after = request.search_after
    if after is None:
        return int((request.page - 1) * request.size + 1)
    return int(after[1]) + 1 if after[0] == "rrf" else 1


def _hs_lines(fields: dict[str, Any], match: str | None) -> list[str]:
    """The source's HS codes, and apart from them the suggested ones, each marked 推测 (suggested)."""
    from classifiers.hs_catalogue import dotted

    lines = []
    if fields.get("hs_codes"):
        lines.append(f"HS (declared by the source): {', '.join(fields['hs_codes'])}")
    suggested = [
        " ".join(
            p for p in (dotted(s["code"]), s.get("name_zh") or s.get("name_en"), f"({float(s['score']):.2f})") if p
        )
        for s in fields.get("hs_suggested") or []
    ]
    if suggested:
        lines.append("HS suggested (推测): " + "; ".join(suggested))
    if match == "suggested":
        lines.append("matched the HS filter by a suggested code (推测), not one the source lists")
    return lines


def _plain(fragment: str) -> str:
    """A highlight for a terminal: matches in «», HTML entities decoded."""
    import html

    return html.unescape(_MARK.sub(lambda m: "»" if m.group(0).startswith("</") else "«", fragment))


def _first_error(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)
