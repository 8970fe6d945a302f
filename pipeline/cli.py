"""The ``tbt-alert`` command line: one entry point, one subcommand per job.

Each area registers its subcommands from ``pipeline/commands/<area>.py``; those
modules import their heavy dependencies inside the handlers, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from tbt_alert.errors import TbtError
from tbt_alert.redact import redact_log_handlers, redact_text

# Order shown in --help. Each module defines register(subparsers).
COMMAND_MODULES = (
    "db",
    "services",
    "doctor",
    "crawl",
    "imports",
    "sources",
    "model",
    "classify",
    "index",
    "search",
    "subscribers",
    "bulletins",
    "report",
    "portal",
    "run",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tbt-alert",
        description="Early warning of technical barriers to trade for Zhejiang exporters.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"pipeline.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Libraries log every request and migration step at INFO; keep the CLI readable.
        for noisy in ("alembic", "elastic_transport", "httpx", "scrapy", "urllib3", "matplotlib", "weasyprint"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # The ES transport logs a full traceback at WARNING on every retry; our errors say it once.
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    # A library may log a URL with its credentials (a node, a database); no log line shows them.
    redact_log_handlers()
    try:
        return int(args.handler(args) or 0)
    except TbtError as exc:
        print(f"tbt-alert: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
