"""`tbt-alert import eping FILE.xlsx`: store a workbook downloaded from ePing, as a crawl stores a page.

The workbook is either the "Export search results" workbook of ePing's search page or the bulk
workbook of every notification (Notification_EN.xlsx); see crawlers/sources/wto_eping_excel/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("import", help="store files downloaded from a source (exit 0 ok, 3 partial, 1 failed)")
    what = parser.add_subparsers(dest="import_command", metavar="KIND", required=True)
    eping = what.add_parser(
        "eping",
        help="store ePing workbooks (.xlsx: an exported search or the bulk Notification_EN.xlsx) as wto_eping measures",
    )
    eping.add_argument("files", nargs="+", type=Path, metavar="FILE", help="an .xlsx workbook from ePing")
    eping.set_defaults(handler=_import_eping)


def _import_eping(args: argparse.Namespace) -> int:
    from crawlers.outcome import exit_code
    from crawlers.sources.wto_eping_excel.importer import import_workbook
    from schema.engine import make_engine
    from schema.migrate import upgrade
    from tbt_alert.settings import load_settings

    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(
            f"tbt-alert: no such file: {', '.join(missing)}; give the path of a workbook downloaded from ePing.",
            file=sys.stderr,
        )
        return 1
    settings = load_settings()
    upgrade(settings.database_url)  # a fresh data dir works without a separate `db upgrade`
    engine = make_engine(settings.database_url)
    outcomes = []
    try:
        for path in args.files:
            o = import_workbook(engine, path)
            outcomes.append(o)
            flag = " SUSPICIOUS count" if o.suspicious else ""
            print(
                f"{path}: {o.status} (run {o.run_id}, stored as {o.source_id}) seen {o.seen}, new {o.new}, "
                f"changed {o.changed}, unchanged {o.unchanged}, rejected {o.rejected}{flag}"
            )
            if o.error:
                print("  " + o.error.replace("\n", "\n  "))
    finally:
        engine.dispose()
    return exit_code(outcomes)
