"""`tbt-alert db ...`: migrate, back up and restore the database."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("db", help="database: migrate (upgrade), show the revision")
    db_sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="create or migrate the database to the newest schema")
    up.add_argument("--revision", default="head", help="target Alembic revision (default: head)")
    up.set_defaults(handler=_upgrade)
    cur = db_sub.add_parser("current", help="print the database's schema revision")
    cur.set_defaults(handler=_current)
    backup = db_sub.add_parser("backup", help="back up the database (SQLite backup API or pg_dump)")
    backup.add_argument("--to", type=Path, metavar="DIR", help="folder for the backup (default: TBT_DATA_DIR/backups)")
    backup.set_defaults(handler=_backup)
    restore = db_sub.add_parser("restore", help="restore a backup made by `db backup` into the configured database")
    restore.add_argument("file", type=Path)
    restore.set_defaults(handler=_restore)


def _upgrade(args: argparse.Namespace) -> int:
    from schema.migrate import current_revision, upgrade
    from tbt_alert.settings import load_settings

    settings = load_settings()
    upgrade(settings.database_url, args.revision)
    print(f"database {_safe(settings.database_url)} at revision {current_revision(settings.database_url)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from schema.migrate import current_revision, head_revision
    from tbt_alert.settings import load_settings

    settings = load_settings()
    print(f"current {current_revision(settings.database_url)}, newest {head_revision()}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from pipeline.maintenance import backup_database
    from tbt_alert.settings import load_settings

    path = backup_database(load_settings(), destination=args.to)
    print(f"backup written to {path}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from pipeline.maintenance import restore_database
    from tbt_alert.settings import load_settings

    settings = load_settings()
    restore_database(settings, args.file)
    print(f"restored {args.file} into {_safe(settings.database_url)}; rebuild the index: tbt-alert index rebuild")
    return 0


def _safe(url: str) -> str:
    """The URL without its credentials, for printing."""
    from tbt_alert.redact import redact_url

    return redact_url(url)
