"""`tbt-alert index rebuild|update|status`: the Elasticsearch index of measures and bulletins."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def quiet_transport(args: argparse.Namespace) -> None:
    """The transport logs every retry with a traceback; our error already says what failed."""
    import logging

    if not getattr(args, "verbose", False):
        logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)


def register(sub: Any) -> None:
    parser = sub.add_parser("index", help="Elasticsearch index: rebuild from the database, update changes, status")
    actions = parser.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    rebuild = actions.add_parser(
        "rebuild", help="build fresh indices from the database and swap the aliases to them (the old ones go)"
    )
    rebuild.add_argument("--threads", type=int, default=2, help="parallel bulk requests (default 2)")
    rebuild.set_defaults(handler=_rebuild)
    update = actions.add_parser(
        "update", help="index measures changed, re-tagged or withdrawn since the last update, and new bulletins"
    )
    update.set_defaults(handler=_update)
    status = actions.add_parser("status", help="database versus index counts, live indices and the checkpoint")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)


def _rebuild(args: argparse.Namespace) -> int:
    from tbt_alert.settings import load_settings

    quiet_transport(args)
    from schema.migrate import upgrade
    from search.lifecycle import rebuild_index

    settings = load_settings()
    upgrade(settings.database_url)

    def progress(kind: str, done: int) -> None:
        if done % 10_000 < 1000:
            print(f"  {kind}: {done}", file=sys.stderr)

    outcome = rebuild_index(settings, progress=progress, threads=args.threads)
    print(
        f"rebuilt {outcome.measures_index} ({outcome.measures} measures) and {outcome.bulletins_index} "
        f"({outcome.bulletins} bulletins) in {outcome.seconds:.1f}s, {outcome.docs_per_second:.0f} docs/s"
    )
    if outcome.removed_indices:
        print(f"deleted the previous indices: {', '.join(outcome.removed_indices)}")
    return 0


def _update(args: argparse.Namespace) -> int:
    from tbt_alert.settings import load_settings

    quiet_transport(args)
    from schema.migrate import upgrade
    from search.lifecycle import update_index

    settings = load_settings()
    upgrade(settings.database_url)
    outcome = update_index(settings)
    if outcome.rebuilt:
        r = outcome.rebuilt
        print(
            f"no live index or checkpoint yet: built {r.measures_index} with {r.measures} measures "
            f"and {r.bulletins} bulletins"
        )
        return 0
    since = f"{outcome.since:%Y-%m-%d %H:%M:%S} UTC" if outcome.since else "the start"
    print(
        f"indexed {outcome.indexed} measures, deleted {outcome.deleted}, indexed {outcome.bulletins} bulletins "
        f"(changes since {since})"
    )
    for error in outcome.errors:
        print(f"  refused: {error}", file=sys.stderr)
    if outcome.errors:
        print(f"{len(outcome.errors)} document(s) were refused; they are retried by the next update", file=sys.stderr)
        return 1
    return 0


def _status(args: argparse.Namespace) -> int:
    from tbt_alert.settings import load_settings

    quiet_transport(args)
    from search.lifecycle import index_counts

    counts = index_counts(load_settings())
    if args.json:
        print(json.dumps(counts, indent=2))
        return 0
    for kind in ("measures", "bulletins"):
        live = ", ".join(counts["live_indices"][kind]) or "none (run `tbt-alert index rebuild`)"
        indexed = counts["index"][kind]
        print(f"{kind}: database {counts['database'][kind]}, index {'-' if indexed is None else indexed} ({live})")
    print(f"last successful update: {counts['checkpoint'] or 'never'}")
    if counts["failed_ids"]:
        print(f"waiting for retry: {len(counts['failed_ids'])} measure(s)")
    print("in sync" if counts["in_sync"] else "NOT in sync: run `tbt-alert index update` (or `index rebuild`)")
    return 0 if counts["in_sync"] else 3
