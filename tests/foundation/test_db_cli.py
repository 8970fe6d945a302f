"""`tbt-alert db upgrade|backup|restore` through the real CLI entry point, on SQLite."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.cli import main
from schema.engine import make_engine, session_scope
from schema.models import Measure, Source
from schema.upsert import store_measures


def _count(url: str) -> int:
    engine = make_engine(url)
    with session_scope(engine) as session:
        n = session.scalar(select(func.count()).select_from(Measure))
    engine.dispose()
    return int(n or 0)


def test_backup_then_restore_brings_back_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TBT_SECRET_KEY", "k" * 40)
    url = f"sqlite:///{tmp_path / 'tbt-alert.sqlite'}"
    assert main(["db", "upgrade"]) == 0
    engine = make_engine(url)
    with session_scope(engine) as session:
        session.add(Source(id="us_cpsc", name="CPSC", kind="recall", jurisdiction="USA"))
        session.flush()
        store_measures(session, [{"source_id": "us_cpsc", "source_key": "24-001", "kind": "recall", "title": "A"}])
    assert main(["db", "backup", "--to", str(tmp_path / "bk")]) == 0
    backup = next((tmp_path / "bk").iterdir())
    with session_scope(engine) as session:
        store_measures(session, [{"source_id": "us_cpsc", "source_key": "24-002", "kind": "recall", "title": "B"}])
    engine.dispose()
    assert _count(url) == 2
    assert main(["db", "restore", str(backup)]) == 0
    assert _count(url) == 1
    assert "restored" in capsys.readouterr().out


def test_restore_of_a_missing_file_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TBT_SECRET_KEY", "k" * 40)
    assert main(["db", "restore", str(tmp_path / "nope.sqlite")]) == 1
    assert "tbt-alert db backup" in capsys.readouterr().err
