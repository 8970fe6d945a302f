"""Nightly upkeep: keep the index in step with the database, prune old raw payloads,
back up the database (and restore a backup).

Raw-payload retention, decided: the payload of a measure's *current* revision is
always kept, whatever its age. It is the evidence for what we show and lets a better
parser re-read the record without crawling again. What is pruned, once older than
``TBT_RAW_RETENTION_DAYS``, is the raw payload of superseded revisions (by the time
they were superseded) and of quarantined records someone has resolved. The parsed
content of every revision stays: only the bytes as received go. Unresolved
quarantined records keep their payload, since someone still has to look at them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tbt_alert.errors import BackupError

if TYPE_CHECKING:
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

# Nightly backups kept; older ones are deleted after a successful new one.
KEEP_BACKUPS = 7
_BACKUP_PREFIX = "tbt-alert-"


# ------------------------------------------------------------------------- index


def check_index(settings: Settings, *, rebuild: bool | None = None) -> dict[str, Any]:
    """Compare database and index counts; rebuild the index when they diverge.

    ``rebuild``: True forces a rebuild, False only reports, None (default) rebuilds
    only on a divergence (or when there is no live index at all).
    """
    from pipeline.stages import summary
    from search.lifecycle import index_counts, rebuild_index

    counts = index_counts(settings)
    diverged = diverging(counts)
    result: dict[str, Any] = {"counts": summary(counts), "diverged": diverged, "rebuilt": False}
    if rebuild or (rebuild is None and diverged):
        log.warning("index and database differ (%s); rebuilding the index", ", ".join(diverged) or "forced")
        result["rebuild"] = summary(rebuild_index(settings))
        result["rebuilt"] = True
        result["counts_after"] = summary(index_counts(settings))
    return result


def diverging(counts: dict[str, Any]) -> list[str]:
    """The kinds (measures, bulletins) whose database and index counts differ.

    ``counts`` is what ``search.lifecycle.index_counts`` returns: ``{"database": {kind:
    n}, "index": {kind: n or None}}``; a kind with no live index (None) diverges.
    """
    database, index = counts.get("database") or {}, counts.get("index") or {}
    return sorted(kind for kind in database if index.get(kind) != database[kind])


# ------------------------------------------------------------------------- retention


def prune_raw_payloads(settings: Settings, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Drop raw payloads past the retention period (see the module doc for what is kept)."""
    from sqlalchemy import update

    from schema.engine import session_for
    from schema.models import MeasureRevision, QuarantinedRecord

    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=settings.raw_payload_retention_days)
    with session_for(settings) as session:
        revisions = session.execute(
            update(MeasureRevision)
            .where(MeasureRevision.recorded_at < cutoff, MeasureRevision.raw_payload.is_not(None))
            .values(raw_payload=None)
        )
        quarantined = session.execute(
            update(QuarantinedRecord)
            .where(
                QuarantinedRecord.resolved.is_(True),
                QuarantinedRecord.created_at < cutoff,
                QuarantinedRecord.raw_payload.is_not(None),
            )
            .values(raw_payload=None)
        )
        pruned = {"revisions": revisions.rowcount or 0, "quarantined": quarantined.rowcount or 0}  # type: ignore[attr-defined]
    return {"cutoff": cutoff.isoformat(), "pruned": pruned}


# ------------------------------------------------------------------------- backup


def backup_dir(settings: Settings) -> Path:
    return settings.data_dir / "backups"


def backup_database(
    settings: Settings, *, destination: Path | None = None, label: str | None = None, keep: int | None = KEEP_BACKUPS
) -> Path:
    """Write a consistent backup of the database and return its path.

    SQLite: the online backup API (consistent while others write). PostgreSQL:
    ``pg_dump`` in its custom format (restore with :func:`restore_database` or
    ``pg_restore``). ``label`` names the file (the nightly DAG passes its date, so a
    rerun of the same night overwrites that night's backup instead of adding one);
    ``keep`` old backups in the folder are kept, older ones deleted.
    """
    folder = destination or backup_dir(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # a backup holds what the database holds (review L5)
    label = label or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".sqlite" if settings.is_sqlite else ".pgdump"
    target = folder / f"{_BACKUP_PREFIX}{label}{suffix}"
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    if settings.is_sqlite:
        _sqlite_backup(_sqlite_path(settings.database_url), partial)
    else:
        _pg_dump(settings.database_url, partial)
    partial.chmod(0o600)
    os.replace(partial, target)  # a crash mid-backup never leaves a truncated file under the final name
    if keep is not None:
        for old in sorted(folder.glob(f"{_BACKUP_PREFIX}*{suffix}"), key=lambda p: p.stat().st_mtime)[:-keep]:
            old.unlink()
    log.info("database backed up to %s", target)
    return target


def restore_database(settings: Settings, backup: Path) -> None:
    """Replace the database's content with ``backup`` (made by :func:`backup_database`)."""
    if not backup.is_file():
        raise BackupError(f"backup {backup} does not exist; pass a file made by `tbt-alert db backup`.")
    if settings.is_sqlite:
        if backup.suffix != ".sqlite":
            raise BackupError(f"{backup} is not a SQLite backup but TBT_DATABASE_URL is SQLite; pass a .sqlite file.")
        target = _sqlite_path(settings.database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_backup(backup, target)
    else:
        if backup.suffix != ".pgdump":
            raise BackupError(
                f"{backup} is not a pg_dump backup but TBT_DATABASE_URL is PostgreSQL; pass a .pgdump file."
            )
        _run(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                _libpq_url(settings.database_url),
                str(backup),
            ],
            "pg_restore",
            _libpq_env(settings.database_url),
        )
    log.info("database restored from %s", backup)


def _sqlite_path(url: str) -> Path:
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:":
        raise BackupError(f"{url} is an in-memory database; nothing to back up. Set TBT_DATABASE_URL to a file.")
    return Path(path)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"database file {source} does not exist; run `tbt-alert db upgrade` first.")
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no ``+driver``), without its password: another
    local user can read a command line (ps), so the password goes in the environment instead."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    # URL.set() leaves a field alone when given None; the URL is a named tuple, so _replace clears it.
    return parsed._replace(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _libpq_env(url: str) -> dict[str, str]:
    """The environment of a libpq tool: ours, and the URL's password as PGPASSWORD."""
    from sqlalchemy.engine import make_url

    password = make_url(url).password
    return {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}


def _pg_tool(name: str) -> str:
    # The newest installed version first: pg_dump must not be older than the server.
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(
        f"{name} is not installed; install the PostgreSQL client tools (e.g. apt install postgresql-client)."
    )


def _pg_dump(url: str, target: Path) -> None:
    command = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), _libpq_url(url)]
    _run(command, "pg_dump", _libpq_env(url))


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise BackupError(
            f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-500:]}; "
            "check the database URL and access."
        )
