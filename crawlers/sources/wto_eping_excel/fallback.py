"""The bulk workbook as wto_eping's fallback when its JSON API is down or gone.

ePing regenerates a workbook of every notification since 1995 daily
(https://eping.wto.org/NotificationExcelFiles/Notification_EN.xlsx, no key). An operator who
downloads it on a schedule names the file in ``TBT_EPING_BULK_WORKBOOK``; when a crawl of
``wto_eping`` fails, :func:`fall_back` stores that workbook instead (``import_workbook``: the
same measures, keyed by the same symbols) and the crawl reports ``partial`` with both stories:
why the API crawl failed, and what the workbook gave. Unset, a failed crawl stays failed.

The setting (``Settings.eping_bulk_workbook``) is checked when the settings load (an absolute
path, not a folder) and again here, when it is needed: the file must exist by then (the download
may run after start-up); one older than :data:`STALE_AFTER` is used but said to be stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawlers.outcome import CrawlOutcome
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

SETTING = "TBT_EPING_BULK_WORKBOOK"
FALLS_BACK_FOR = "wto_eping"
STALE_AFTER = dt.timedelta(days=3)


def bulk_workbook(settings: Settings) -> Path | None:
    """The downloaded bulk workbook the setting names, or None when unset."""
    return settings.eping_bulk_workbook


def fall_back(settings: Settings, failed: CrawlOutcome, *, now: dt.datetime | None = None) -> CrawlOutcome:
    """``failed`` unchanged, or the outcome of storing the bulk workbook in its place."""
    if failed.status != "failed" or failed.source_id != FALLS_BACK_FOR:
        return failed
    path = bulk_workbook(settings)
    if path is None:
        return failed
    if not path.is_file():
        note = f"{SETTING} names {path}, which is not a file; download Notification_EN.xlsx from ePing there."
        return dataclasses.replace(failed, error="\n".join(p for p in (failed.error, note) if p))
    from crawlers.sources.wto_eping_excel.importer import import_workbook
    from schema.engine import engine_scope

    log.warning(
        "source %s: crawl run %s failed; storing the bulk workbook %s instead", failed.source_id, failed.run_id, path
    )
    with engine_scope(settings) as engine:
        stored = import_workbook(engine, path)
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    age = (now or dt.datetime.now(dt.UTC)) - modified
    story = [
        failed.error or f"source {failed.source_id}: crawl run {failed.run_id} failed",
        f"fell back to the bulk workbook {path} (downloaded {modified:%Y-%m-%d %H:%M} UTC): run {stored.run_id} "
        f"{stored.status}, seen {stored.seen}, new {stored.new}, changed {stored.changed}, rejected {stored.rejected}",
    ]
    if age > STALE_AFTER:
        story.append(f"the workbook is {age.days} days old; download a fresh Notification_EN.xlsx from ePing")
    if stored.error:
        story.append(stored.error)
    # Degraded but not lost: the measures are stored, from the fallback.
    status = "failed" if stored.status == "failed" else "partial"
    return dataclasses.replace(stored, status=status, error="\n".join(story))
