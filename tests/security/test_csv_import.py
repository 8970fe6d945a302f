"""A CSV subscriber import on the real PostgreSQL (review L8): a row the database would refuse
(an over-long name or company, an over-long address, a NUL in a keyword) is reported by its line and
left out whole; the rows before and after it are imported, and nothing is stored half."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from alerts.subscriptions import import_csv
from schema.engine import make_engine, session_factory
from schema.models import Subscriber, Subscription


def test_refused_rows_are_reported_and_left_out_whole_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    rows = [
        "email,name,company,language,frequency,sectors,keywords",
        "li@example.com,李,浙江玩具,zh,daily,toys,",
        f"long-name@example.com,{'名' * 201},,zh,daily,toys,",
        f"long-company@example.com,王,{'公司' * 151},zh,daily,toys,",
        f"{'a' * 320}@example.com,赵,,zh,daily,toys,",
        "nul@example.com,钱,,zh,daily,toys,phthalate\x00",
        "tab@example.com,孙\x07,,zh,daily,toys,",
        "wang@example.com,王,,en,weekly,toys,phthalate",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    engine = make_engine(postgres_url)
    try:
        with session_factory(engine)() as session:
            outcome = import_csv(session, path)
            session.commit()  # the session is still usable after a refused row

            assert (outcome.added, outcome.subscriptions) == (2, 2)
            assert [s.email for s in outcome.new_subscribers] == ["li@example.com", "wang@example.com"]
            errors = dict(outcome.errors)
            assert sorted(errors) == [3, 4, 5, 6, 7]
            assert "name" in errors[3]
            assert "200" in errors[3]
            assert "company" in errors[4]
            assert "email" in errors[5]
            assert "database refused" in errors[6]
            assert "control character" in errors[7]
            emails = session.scalars(select(Subscriber.email).order_by(Subscriber.email)).all()
            assert emails == ["li@example.com", "wang@example.com"]
            # No subscriber without its subscription, no subscription without its subscriber.
            assert session.scalar(select(func.count()).select_from(Subscription)) == 2
            assert not session.scalars(select(Subscriber.id).where(~Subscriber.subscriptions.any())).all()
    finally:
        engine.dispose()
