"""Pure logic of the report: periods, hazard vocabulary, origin and severity rules, the score."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from reports.analysis import analyse
from reports.hazards import load_vocabulary
from reports.periods import parse_period
from reports.recall_risk import normalise_market
from reports.score import Exposure, ExposureTable, load_exposure, score_pairs
from reports.selection import RecallRow, market_of, origin_of, severity_of
from tbt_alert.countries import to_alpha3
from tbt_alert.errors import PeriodError


def test_periods_and_their_comparisons() -> None:
    q4 = parse_period("2025-Q4")
    assert (q4.start, q4.end) == (dt.date(2025, 10, 1), dt.date(2026, 1, 1))
    assert q4.previous().label == "2025-Q3"
    assert q4.year_ago().label == "2024-Q4"
    jan = parse_period("2025-01")
    assert jan.previous().label == "2024-12"
    assert jan.year_ago().label == "2024-01"
    week = parse_period("2025-W01")
    assert week.start == dt.date(2024, 12, 30)
    assert week.previous().label == "2024-W52"
    assert parse_period("2021-W10").year_ago().label == "2020-W10"
    assert parse_period("2020-W53").year_ago().label == "2019-W52"  # 2019 has no week 53
    assert parse_period("2026-W53").year_ago().label == "2025-W52"  # 2025 has no week 53
    assert parse_period("2025").previous().label == "2024"
    span = parse_period("2005..2025")
    assert (span.start, span.end) == (dt.date(2005, 1, 1), dt.date(2026, 1, 1))
    assert span.previous().label == "1984..2004"
    assert span.year_ago().label == "2004..2024"
    for bad in ("2025-Q5", "2025-13", "2025-W54", "Q4 2025", "", "2025..2005"):
        with pytest.raises(PeriodError):
            parse_period(bad)


@pytest.mark.parametrize(
    ("risk_type", "hazard", "expected"),
    [
        (
            "Chemical",
            "The product contains bis(2-ethylhexyl) phthalate (DEHP) (up to 20 %).",
            {"chemical", "phthalates"},
        ),
        ("Chemical", "The amount of lead in the paint is too high.", {"chemical", "lead"}),
        ("Injuries", "This could lead to injuries of the child.", {"injuries"}),  # "lead to" is not lead
        ("Strangulation hazard", None, {"strangulation"}),
        ("Listeria", None, {"microbiological"}),
        ("Milk", None, {"allergens"}),
        ("Burns, Electric shock, Fire", None, {"burns", "electric_shock", "fire"}),
        (None, "Risque d'étouffement: petites pièces", {"suffocation"}),
        (None, "Erstickungsgefahr durch Kleinteile", {"suffocation"}),
        ("Performance", None, {"other"}),
    ],
)
def test_hazard_vocabulary(risk_type: str | None, hazard: str | None, expected: set[str]) -> None:
    assert set(load_vocabulary().classify(risk_type, hazard)) == expected


def test_unknown_origin_is_never_china() -> None:
    assert origin_of(None, None, to_alpha3) == "unknown"
    assert origin_of(None, {"manufacturer_countries": []}, to_alpha3) == "unknown"
    assert origin_of(None, {"report_url": "x"}, to_alpha3) == "unknown"
    assert origin_of("CHN", {}, to_alpha3) == "china"
    assert origin_of("HKG", {}, to_alpha3) == "other"
    assert origin_of("VNM", {"manufacturer_countries": ["VNM", "CHN"]}, to_alpha3) == "china"
    assert origin_of(None, {"manufacturer_countries": ["China (model B)"]}, to_alpha3) == "china"


def test_markets_group_eu_member_states() -> None:
    from tbt_alert.countries import is_eu

    assert market_of("EUR", "DEU", is_eu) == "EUR"
    assert market_of("FRA", "FRA", is_eu) == "EUR"
    assert market_of("WTO", "USA", is_eu) == "USA"
    assert market_of(None, None, is_eu) == "unknown"
    assert normalise_market("EU") == "EUR"
    assert normalise_market("Germany") == "EUR"
    assert normalise_market("usa") == "USA"


def test_severity_scale() -> None:
    assert severity_of("serious") == severity_of("Type I") == severity_of("Class 1") == "serious"
    assert severity_of("Type I - Type II") == "serious"
    assert severity_of("Type II") == "medium"
    assert severity_of("Class 3") == "low"
    assert severity_of("other") == "other"
    assert severity_of(None) == "unknown"


def _row(
    day: dt.date,
    market: str = "EUR",
    origin: str = "china",
    sectors: tuple[str, ...] = ("toys",),
    severity: str = "serious",
    hazards: tuple[str, ...] = ("choking",),
) -> RecallRow:
    return RecallRow(
        id=f"r{day}{market}{origin}{sectors}",
        source_id="s",
        day=day,
        market=market,
        origin=origin,
        sectors=sectors,
        hazards=hazards,
        severity=severity,
        product_type="Toy",
        title="t",
        url=None,
        hs_codes=(),
    )


def test_score_follows_the_documented_formula() -> None:
    rows = [_row(dt.date(2025, 12, 5)), _row(dt.date(2025, 12, 6), severity="low"), _row(dt.date(2025, 3, 1))]
    table = ExposureTable({("toys", "EUR"): Exposure(0.15, "placeholder", "test")}, "test")
    [score] = score_pairs(rows, parse_period("2025-Q4"), table)
    w = [0.5 ** ((11 - k) / 3) for k in range(12)]
    monthly = [0] * 12
    monthly[2], monthly[11] = 1, 2  # March and December 2025
    frequency = sum(a * b for a, b in zip(w, monthly, strict=True)) / sum(w)
    f = frequency / (frequency + 1)
    t = 0.5 + 0.5 * math.tanh(math.log((2 + 1) / (1 + 1)))
    s = (1.0 + 0.25 + 1.0) / 3
    e = 0.15 / 0.30
    assert score.monthly == tuple(monthly)
    assert score.score == round(100 * (0.40 * f + 0.20 * t + 0.25 * s + 0.15 * e), 1)
    # Without an export share the e term is left out and the rest rescaled.
    [unknown] = score_pairs(rows, parse_period("2025-Q4"), ExposureTable({}, ""))
    assert unknown.e is None
    assert unknown.score == round(100 * (0.40 * f + 0.20 * t + 0.25 * s) / 0.85, 1)


def test_export_share_table_states_its_source_and_placeholders() -> None:
    table = load_exposure()
    assert table.values
    assert table.all_placeholders
    assert "PLACEHOLDER" in table.source_note
    assert "NO REAL FIGURES" in table.source_note
    assert all(0 < v.share <= 1 for v in table.values.values())


def test_analysis_counts_and_changes() -> None:
    q4 = parse_period("2025-Q4")
    rows = [
        _row(dt.date(2025, 10, 3)),
        _row(dt.date(2025, 11, 3), sectors=("toys", "childcare")),
        _row(dt.date(2025, 11, 4), origin="unknown"),
        _row(dt.date(2025, 11, 5), origin="other"),
        _row(dt.date(2025, 8, 1)),
        _row(dt.date(2024, 11, 1)),
        _row(dt.date(2024, 11, 2)),
        _row(dt.date(2024, 11, 3)),
        _row(dt.date(2025, 11, 9), market="USA", severity="unknown"),
    ]
    result = analyse(rows, q4)
    assert result.total == 5
    assert result.origins == {"china": 3, "unknown": 1, "other": 1}
    eu = next(m for m in result.markets if m.market == "EUR")
    assert (eu.total, eu.china.current, eu.china.previous, eu.china.year_ago) == (4, 2, 1, 3)
    assert eu.china_share == 50.0
    assert eu.china.vs_previous == 100.0
    assert eu.china.vs_year_ago == -33.3
    toys = next(s for s in result.sectors if (s.market, s.sector) == ("EUR", "toys"))
    assert toys.change.current == 2
    assert toys.serious == 2
    assert next(s for s in result.sectors if s.sector == "childcare").change.current == 1
    usa = next(m for m in result.markets if m.market == "USA")
    assert usa.china.previous == 0
    assert usa.china.vs_previous is None
    only_usa = analyse(rows, q4, market="USA")
    assert [m.market for m in only_usa.markets] == ["USA"]


def test_report_mail_says_what_is_in_it(tmp_path: Path) -> None:
    from reports.recall_risk import ReportOutcome, report_mail

    summary = {
        "period": "2025-Q4",
        "market": "EUR",
        "sector": None,
        "empty": False,
        "total_recalls": 12,
        "china_made": 7,
        "unknown_origin": 2,
        "top_hazards": [{"hazard": "choking", "recalls": 3}],
        "top_risks": [{"sector": "toys", "market": "EUR", "score": 71.2}],
    }
    subject, text = report_mail(ReportOutcome(1, tmp_path / "r.html", tmp_path / "r.pdf", summary))
    assert "2025-Q4" in subject
    assert "EUR" in subject
    assert "China-made: 7" in text
    assert "toys/EUR 71.2" in text
    empty = dict(summary, empty=True)
    assert (
        "No recalls were published in 2025-Q4"
        in report_mail(ReportOutcome(1, tmp_path / "r.html", tmp_path / "r.pdf", empty))[1]
    )
