"""`tbt-alert crawl` (run spiders, record CrawlRuns) and `tbt-alert parse` (debug a parser offline)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    crawl = sub.add_parser(
        "crawl", help="crawl a source (scrapy in a child process) and record the run; exit 0 ok, 3 partial, 1 failed"
    )
    which = crawl.add_mutually_exclusive_group(required=True)
    which.add_argument("source", nargs="?", help="source id (a folder name in crawlers/sources/)")
    which.add_argument("--all", action="store_true", help="crawl every enabled source")
    crawl.add_argument("--since", type=dt.date.fromisoformat, help="only measures from this date (YYYY-MM-DD)")
    crawl.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="serve recorded responses from DIR on loopback instead of the network "
        "(e.g. crawlers/sources: each source's recorded/ folder)",
    )
    crawl.add_argument("--timeout", type=float, help="seconds before the crawl is stopped (default TBT_CRAWL_TIMEOUT)")
    crawl.set_defaults(handler=_crawl)

    parse = sub.add_parser(
        "parse", help="run a source's parser over saved responses; items as JSON lines, rejects on stderr"
    )
    parse.add_argument("source", help="source id")
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE", help="saved response (gzip accepted)")
    parse.add_argument("--url", help="the URL the response came from (default: the file's file:// URL)")
    parse.set_defaults(handler=_parse)


def _crawl(args: argparse.Namespace) -> int:
    from crawlers.outcome import exit_code
    from crawlers.run import crawl, crawl_all
    from schema.migrate import upgrade
    from tbt_alert.settings import load_settings

    settings = load_settings()
    upgrade(settings.database_url)  # a fresh data dir works without a separate `db upgrade`
    if args.all:
        outcomes = crawl_all(settings, since=args.since, replay_dir=args.replay, timeout=args.timeout)
    else:
        outcomes = [crawl(settings, args.source, since=args.since, replay_dir=args.replay, timeout=args.timeout)]
    for o in outcomes:
        flag = " SUSPICIOUS count" if o.suspicious else ""
        print(
            f"{o.source_id}: {o.status} (run {o.run_id}) seen {o.seen}, new {o.new}, changed {o.changed}, "
            f"unchanged {o.unchanged}, rejected {o.rejected}{flag}"
        )
        if o.error:
            print("  " + o.error.replace("\n", "\n  "))
    return exit_code(outcomes)


def _parse(args: argparse.Namespace) -> int:
    import sys

    from crawlers.items import Rejected
    from crawlers.saved import dumps, item_json, parse_saved, rejected_json
    from crawlers.sources import load_source
    from tbt_alert.errors import StructureChanged

    config = load_source(args.source)
    failed = False
    for path in args.files:
        try:
            for entry in parse_saved(args.source, path, args.url, config):
                if isinstance(entry, Rejected):
                    print(dumps(rejected_json(entry)), file=sys.stderr)
                else:
                    print(dumps(item_json(entry)))
        except StructureChanged as exc:
            print(f"tbt-alert: {path}: {exc}", file=sys.stderr)
            failed = True
        except OSError as exc:
            print(f"tbt-alert: cannot read {path}: {exc.strerror}; check the path.", file=sys.stderr)
            failed = True
    return 1 if failed else 0
