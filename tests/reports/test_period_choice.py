"""Which quarter `tbt-alert run` reports on: the most recent complete one with enough recalls to read.

The recalls are CONSTRUCTED (title and date only): the choice depends on nothing else.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reports.selection import readable_recall_quarter, recalls_by_quarter
from schema.models import Measure, Source

TODAY = dt.date(2026, 12, 7)


def _recalls(engine: Engine, days: list[dt.date]) -> None:
    with Session(engine) as session:
        session.add(Source(id="constructed", name="constructed", kind="recall", jurisdiction="EUR"))
        for n, day in enumerate(days):
            session.add(
                Measure(
                    id=f"constructed-{n}",
                    source_id="constructed",
                    source_key=str(n),
                    kind="recall",
                    title=f"constructed recall {n}",
                    published_on=day,
                    content_hash=str(n),
                    extra={"constructed": True},
                )
            )
        session.commit()


def test_a_nearly_empty_latest_quarter_gives_way_to_the_last_readable_one(engine: Engine) -> None:
    # 2025-Q4 has 25 recalls, 2026-Q1 only 3 (as in the recorded data), 2026-Q4 is not over yet.
    _recalls(engine, [dt.date(2025, 12, 1)] * 25 + [dt.date(2026, 2, 1)] * 3 + [dt.date(2026, 12, 1)] * 30)
    with Session(engine) as session:
        assert recalls_by_quarter(session) == {"2025-Q4": 25, "2026-Q1": 3, "2026-Q4": 30}
        choice = readable_recall_quarter(session, TODAY)
    assert choice is not None
    assert (choice.period, choice.recalls, choice.why) == ("2025-Q4", 25, "readable")
    assert (choice.latest, choice.latest_recalls) == ("2026-Q4", 30)


def test_without_a_readable_quarter_the_fullest_complete_one(engine: Engine) -> None:
    _recalls(engine, [dt.date(2025, 5, 1)] * 4 + [dt.date(2026, 2, 1)] * 3)
    with Session(engine) as session:
        choice = readable_recall_quarter(session, TODAY)
        assert choice is not None
        assert (choice.period, choice.why) == ("2025-Q2", "fullest")
        assert readable_recall_quarter(session, TODAY, min_recalls=3) is not None
        assert readable_recall_quarter(session, TODAY, min_recalls=3).period == "2026-Q1"  # type: ignore[union-attr]


def test_no_recalls_no_report(engine: Engine) -> None:
    with Session(engine) as session:
        assert readable_recall_quarter(session, TODAY) is None
