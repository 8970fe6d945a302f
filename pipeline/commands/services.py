"""`tbt-alert services up|down|status`: the local Elasticsearch, PostgreSQL and SMTP sink."""

from __future__ import annotations

import argparse
import time
from typing import Any

_ALL = ("elasticsearch", "postgresql", "smtp")


def register(sub: Any) -> None:
    parser = sub.add_parser("services", help="start, stop or check the local services on loopback")
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "names", nargs="*", metavar="SERVICE", help=f"which services (default: all of {', '.join(_ALL)})"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tbt_alert.errors import TbtError
    from tbt_alert.settings import load_settings

    try:
        # Development tools stay out of the wheel: a deployment runs its own services.
        from devtools import services
    except ModuleNotFoundError as exc:
        if exc.name != "devtools":
            raise
        raise TbtError(
            "the local services come with a source checkout (devtools/); run this from the repository, "
            "or point TBT_DATABASE_URL, TBT_ELASTICSEARCH_URL and TBT_SMTP_HOST at your own services."
        ) from None

    names = args.names or list(_ALL)
    unknown = set(names) - set(_ALL)
    if unknown:
        print(f"tbt-alert services: unknown service(s) {sorted(unknown)}; choose from {', '.join(_ALL)}")
        return 2
    if args.action == "status":
        ok = True
        for status in services.statuses():
            if status.name in names:
                print(f"{status.name:14} {'up  ' if status.up else 'DOWN'} {status.detail}")
                ok &= status.up
        return 0 if ok else 1
    if args.action == "down":
        stops = {
            "elasticsearch": services.stop_elasticsearch,
            "postgresql": services.stop_postgres,
            "smtp": services.stop_smtp,
        }
        for name in names:
            stops[name]()
            print(f"{name:14} stopped")
        return 0
    settings = load_settings()
    starts = {
        "postgresql": services.start_postgres,
        "smtp": lambda: services.start_smtp(settings.maildir, settings.smtp_port),
        "elasticsearch": services.start_elasticsearch,
    }
    for name in ("postgresql", "smtp", "elasticsearch"):
        if name in names:
            began = time.monotonic()
            status = starts[name]()
            print(f"{name:14} up   {status.detail} ({time.monotonic() - began:.1f}s)")
    return 0
