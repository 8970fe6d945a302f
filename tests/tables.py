"""Row counts of what the pipeline stores, for tests that compare a database before and after a run,
or with a reference run (tests/dags, tests/reliability)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from schema.engine import make_engine, session_scope
from schema.models import Bulletin, CrawlRun, Delivery, Measure, MeasureRevision, QuarantinedRecord, SectorTag
from tbt_alert.settings import Settings


def table_counts(settings: Settings) -> dict[str, int]:
    """Row counts per table, and the invariants a partial write would break (every measure tagged,
    every bulletin sent)."""
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:

            def count(model: Any, *where: Any) -> int:
                return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

            return {
                "measures": count(Measure),
                "live_measures": count(Measure, Measure.withdrawn.is_(False)),
                "revisions": count(MeasureRevision),
                "tagged": count(Measure, Measure.tagged_version.is_not(None)),
                "sector_tags": count(SectorTag),
                "quarantined": count(QuarantinedRecord),
                "crawl_runs": count(CrawlRun),
                "bulletins": count(Bulletin),
                "deliveries": count(Delivery),
                "bulletins_sent": count(Delivery, Delivery.purpose == "bulletin", Delivery.status == "sent"),
            }
    finally:
        engine.dispose()
