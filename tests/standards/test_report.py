"""The recall-risk report's "standards most cited behind the recalls" and the comparison export,
on the reports' real recorded recalls (Safety Gate, CPSC, Health Canada fixtures)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from classifiers.tagging import extract_all_standards
from pipeline.cli import main
from reports.recall_risk import build_report
from reports.standards import NO_COUNTERPART_ZH, comparison_csv, comparison_rows
from schema.engine import make_engine
from tbt_alert.settings import Settings
from tests.reports.conftest import load_fixture


def test_report_lists_the_standards_behind_the_recalls_and_writes_the_export(
    sqlite_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(TBT_DATABASE_URL=sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        load_fixture(engine)
        read, stored = extract_all_standards(engine)
        assert read > 0
        assert stored > 0
        rows = comparison_rows(engine)
        toys = [r for r in rows if r["standard"] == "EN 71" and r["sector"] == "toys"]
        assert toys
        assert toys[0]["recalls"] >= 1
        assert toys[0]["chinese_counterpart"] == NO_COUNTERPART_ZH
        assert all(r["sector"] == "toys" for r in comparison_rows(engine, sector="toys"))
    finally:
        engine.dispose()
    outcome = build_report(settings, "2025-Q4")
    html = outcome.html_path.read_text(encoding="utf-8")
    section = html.split('id="standards-behind"')[1].split("<h2>")[0]
    assert "EN 71" in section
    assert "暂无对应国家标准数据" in section
    export = outcome.html_path.with_name(outcome.html_path.stem + "_standards.csv").read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))
    assert table[0][0] == "行业代码 sector"
    assert any(row[4] == "EN 71" for row in table[1:])


def test_comparison_csv_has_a_header_even_when_empty() -> None:
    assert comparison_csv([]).lstrip("\ufeff").splitlines()[0].startswith("行业代码 sector,")


def test_cli_writes_the_comparison_export(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(sqlite_url)
    try:
        load_fixture(engine)
        extract_all_standards(engine)
    finally:
        engine.dispose()
    monkeypatch.setenv("TBT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TBT_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
    out = tmp_path / "toys.csv"
    assert main(["report", "standards", "--sector", "toys", "--out", str(out)]) == 0
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {row[0] for row in table[1:]} == {"toys"}
    assert any(row[4] == "EN 71" for row in table[1:])
    assert "rows (sector × market × standard) written" in capsys.readouterr().out
