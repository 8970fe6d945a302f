"""Read queries the pipeline's scheduling asks of the database, kept beside the models they read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schema.models import CrawlRun, Measure, SectorTag


def last_crawl_started(session: Session, statuses: Iterable[str]) -> dict[str, dt.datetime]:
    """Source id -> when its latest crawl run that ended in one of ``statuses`` started."""
    rows = session.execute(
        select(CrawlRun.source_id, func.max(CrawlRun.started_at))
        .where(CrawlRun.status.in_(list(statuses)))
        .group_by(CrawlRun.source_id)
    ).all()
    return dict(rows)


def latest_change(session: Session) -> dt.datetime | None:
    """When the newest stored change happened (a measure changed or a sector tag written); None when empty."""
    stamps = [
        session.scalar(select(func.max(Measure.last_changed))),
        session.scalar(select(func.max(SectorTag.created_at))),
    ]
    known = [s for s in stamps if s is not None]
    return max(known) if known else None
