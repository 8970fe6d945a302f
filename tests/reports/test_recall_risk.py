"""The recall-risk report end to end on the fixture database (SQLite and PostgreSQL): its numbers
against an independent recomputation in plain SQL, an empty period, unknown origin, the PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from reports.recall_risk import build_report
from schema.engine import make_engine, session_scope
from schema.models import Report
from tbt_alert.settings import Settings

Q4 = {"start": "2025-10-01", "end": "2026-01-01"}
Q3 = {"start": "2025-07-01", "end": "2025-10-01"}
Q4_2024 = {"start": "2024-10-01", "end": "2025-01-01"}

# The report's rules, written independently as SQL: recalls that are not follow-ups, not withdrawn,
# published in [start, end); market = the source's jurisdiction (the fixture's sources are EUR, USA,
# CAN, so no member-state grouping is needed); China-made = origin CHN or "CHN" among the
# manufacturer countries kept in extra; unknown = no origin and no manufacturer country.
RECALLS = """
    FROM measures m JOIN sources s ON s.id = m.source_id
    WHERE m.kind = 'recall' AND m.parent_id IS NULL AND NOT m.withdrawn
      AND m.published_on >= :start AND m.published_on < :end
"""
CHINA = "(m.country_of_origin = 'CHN' OR CAST(m.extra AS TEXT) LIKE '%\"CHN\"%')"
UNKNOWN = "(m.country_of_origin IS NULL AND CAST(m.extra AS TEXT) NOT LIKE '%manufacturer_countries%')"


def _sql(settings: Settings, query: str, window: dict[str, str] | None = None) -> list[Any]:
    import datetime as dt

    engine = make_engine(settings.database_url)
    params = {k: dt.date.fromisoformat(v) for k, v in (window or {}).items()}
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query), params))
    finally:
        engine.dispose()


def _markets_by_sql(settings: Settings, window: dict[str, str]) -> dict[str, tuple[int, int, int, int]]:
    rows = _sql(
        settings,
        f"""
        SELECT s.jurisdiction, COUNT(*),
               SUM(CASE WHEN {CHINA} THEN 1 ELSE 0 END),
               SUM(CASE WHEN {UNKNOWN} THEN 1 ELSE 0 END),
               SUM(CASE WHEN {CHINA} AND m.risk_level = 'serious' THEN 1 ELSE 0 END)
        {RECALLS} GROUP BY s.jurisdiction""",
        window,
    )
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def _sectors_by_sql(settings: Settings, window: dict[str, str]) -> dict[tuple[str, str], int]:
    tagged = _sql(
        settings,
        f"""
        SELECT s.jurisdiction, t.sector, COUNT(DISTINCT m.id)
        {RECALLS.replace("WHERE", "JOIN sector_tags t ON t.measure_id = m.id WHERE")} AND {CHINA}
        GROUP BY s.jurisdiction, t.sector""",
        window,
    )
    untagged = _sql(
        settings,
        f"""
        SELECT s.jurisdiction, COUNT(*) {RECALLS} AND {CHINA}
          AND NOT EXISTS (SELECT 1 FROM sector_tags x WHERE x.measure_id = m.id)
        GROUP BY s.jurisdiction""",
        window,
    )
    counts = {(r[0], r[1]): int(r[2]) for r in tagged}
    counts.update({(r[0], "untagged"): int(r[1]) for r in untagged})
    return counts


def _stored_summary(settings: Settings, report_id: int) -> dict[str, Any]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            report = session.get(Report, report_id)
            assert report is not None
            assert report.kind == "recall_risk"
            return dict(report.summary)
    finally:
        engine.dispose()


def _pages(pdf: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(out / "page")], check=True)
    return sorted(out.glob("page*.png"))


def _ink(png: Path) -> float:
    """Share of the page's pixels that are not (near) white."""
    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return sum(histogram[:200]) / (image.width * image.height)


def test_report_numbers_equal_sql_recomputation(report_settings: Settings) -> None:
    outcome = build_report(report_settings, "2025-Q4")
    summary = _stored_summary(report_settings, outcome.report_id)

    markets = _markets_by_sql(report_settings, Q4)
    previous = _markets_by_sql(report_settings, Q3)
    year_ago = _markets_by_sql(report_settings, Q4_2024)
    assert summary["total_recalls"] == sum(v[0] for v in markets.values())
    assert summary["china_made"] == sum(v[1] for v in markets.values())
    assert summary["unknown_origin"] == sum(v[2] for v in markets.values())
    assert summary["china_made"] > 0
    assert summary["unknown_origin"] > 0
    for market, (total, china, unknown, serious) in markets.items():
        line = summary["markets"][market]
        assert (line["total"], line["china_made"], line["unknown_origin"], line["serious"]) == (
            total,
            china,
            unknown,
            serious,
        )
        assert line["previous"] == previous.get(market, (0, 0, 0, 0))[1]
        assert line["year_ago"] == year_ago.get(market, (0, 0, 0, 0))[1]

    expected = {k: v for k, v in _sectors_by_sql(report_settings, Q4).items() if v}
    got = {(s["market"], s["sector"]): s["china_made"] for s in summary["sectors"] if s["china_made"]}
    assert got == expected
    expected_prev = {k: v for k, v in _sectors_by_sql(report_settings, Q3).items() if v}
    got_prev = {(s["market"], s["sector"]): s["previous"] for s in summary["sectors"] if s["previous"]}
    assert got_prev == expected_prev

    html = outcome.html_path.read_text(encoding="utf-8")
    assert "召回风险评分" in html
    assert "score = 100 × (0.40·f" in html
    assert "data:image/png;base64," in html  # charts are inline
    assert "PLACEHOLDER" in html  # the export shares say what they are
    assert outcome.pdf_path.read_bytes().startswith(b"%PDF")


def test_unknown_origin_is_never_counted_as_china(report_settings: Settings) -> None:
    outcome = build_report(report_settings, "2025-Q4", market="CAN")
    summary = outcome.summary
    # Health Canada's open data gives no country of origin: every Canadian recall is unknown.
    assert summary["total_recalls"] == summary["unknown_origin"] > 0
    assert summary["china_made"] == 0
    assert summary["sectors"] == []
    assert summary["top_risks"] == []


def test_rules_behind_the_recall_link_same_market_and_sector(report_settings: Settings) -> None:
    outcome = build_report(report_settings, "2025-Q4", market="EU", sector="toys")
    html = outcome.html_path.read_text(encoding="utf-8")
    assert outcome.summary["market"] == "EUR"
    assert outcome.summary["linked_rules"] >= 1
    assert "CONSTRUCTED/G/TBT/N/EU/TOYS-PHTHALATES" in html
    assert "CONSTRUCTED/G/TBT/N/USA/TOYS-ASTM" not in html  # another market
    assert "CONSTRUCTED/G/TBT/N/EU/FEED" not in html  # another sector


def test_empty_period_gives_a_valid_report_that_says_so(report_settings: Settings, tmp_path: Path) -> None:
    outcome = build_report(report_settings, "2019-W10")
    assert outcome.summary["empty"] is True
    assert outcome.summary["total_recalls"] == 0
    html = outcome.html_path.read_text(encoding="utf-8")
    assert "本期无召回记录" in html
    assert "No recalls were published in 2019-W10" in html
    pages = _pages(outcome.pdf_path, tmp_path)
    assert pages
    assert all(_ink(p) > 0.002 for p in pages)


def test_pdf_pages_are_rendered_and_none_is_blank(report_settings: Settings, tmp_path: Path) -> None:
    outcome = build_report(report_settings, "2025-Q4")
    pages = _pages(outcome.pdf_path, tmp_path)
    assert len(pages) >= 3
    for page in pages:
        assert _ink(page) > 0.002, f"{page.name} is blank"


def test_building_twice_updates_one_report_row(report_settings: Settings) -> None:
    first = build_report(report_settings, "2025-11", market="USA")
    second = build_report(report_settings, "2025-11", market="USA")
    other = build_report(report_settings, "2025-11")
    assert first.report_id == second.report_id != other.report_id
    rows = _sql(report_settings, "SELECT COUNT(*) FROM reports WHERE period = '2025-11'")
    assert rows[0][0] == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_writes_the_files(
    report_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    monkeypatch.setenv("TBT_DATA_DIR", str(report_settings.data_dir))
    monkeypatch.setenv("TBT_DATABASE_URL", report_settings.database_url)
    monkeypatch.setenv("TBT_SECRET_KEY", report_settings.secret_key)
    out = tmp_path / "out"
    assert main(["report", "recall-risk", "--period", "2025-Q4", "--market", "EU", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "made in China" in printed
    files = sorted(p.name for p in out.iterdir())
    assert sorted(p.suffix for p in out.iterdir()) == [".csv", ".csv", ".html", ".pdf"]
    assert sum(name.endswith("_standards.csv") for name in files) == 1  # the standards comparison beside it
    cube = next(p for p in out.iterdir() if p.suffix == ".csv" and not p.name.endswith("_standards.csv"))
    header, *lines = cube.read_text(encoding="utf-8").splitlines()
    assert header.startswith("\ufeff期间 period,市场 market,市场名称 market_zh,行业代码 sector,行业 sector_zh")
    assert lines
    assert all(",EUR,欧盟," in line for line in lines)  # a Chinese name beside every code
    assert main(["report", "recall-risk", "--period", "2025-Q9"]) == 1  # a clear error, not a traceback
    assert "2025-Q4" in capsys.readouterr().err
