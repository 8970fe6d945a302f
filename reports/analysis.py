"""The numbers of the recall-risk report: counts of China-made recalls per market, sector and
hazard, their share of all recalls in the market, and their change against the previous period
and the same period a year earlier.

Counting rules (printed in the report): a recall counts once in its market; in each of its
sectors (so sector rows of one market may add up to more than the market's total); and in
each of its hazards (a phthalate recall counts under "phthalates" and under "chemical").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reports.periods import Period, months_back
from reports.selection import ORIGIN_CHINA, ORIGIN_OTHER, ORIGIN_UNKNOWN, RecallRow

TOP_N = 5
NOTABLE_CASES = 15


@dataclass(frozen=True)
class Change:
    current: int
    previous: int
    year_ago: int

    @property
    def vs_previous(self) -> float | None:
        return _pct(self.current, self.previous)

    @property
    def vs_year_ago(self) -> float | None:
        return _pct(self.current, self.year_ago)


def _pct(current: int, before: int) -> float | None:
    """Percentage change; None when there was nothing before (a change from zero has no percentage)."""
    if before == 0:
        return None
    return round(100.0 * (current - before) / before, 1)


def share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class MarketLine:
    market: str
    total: int  # all recalls in the market, any origin, any sector
    china: Change  # China-made (in the selected sector, if any)
    other: int
    unknown: int
    serious: int  # China-made and serious

    @property
    def china_share(self) -> float | None:
        return share(self.china.current, self.total)


@dataclass(frozen=True)
class SectorLine:
    market: str
    sector: str
    change: Change
    market_total: int
    serious: int
    top_hazards: list[tuple[str, int]]
    top_products: list[tuple[str, int]]

    @property
    def share_of_market(self) -> float | None:
        return share(self.change.current, self.market_total)


@dataclass(frozen=True)
class HazardLine:
    market: str
    sector: str
    hazard: str
    change: Change
    market_total: int
    serious: int

    @property
    def share_of_market(self) -> float | None:
        return share(self.change.current, self.market_total)


@dataclass
class RecallAnalysis:
    period: Period
    previous: Period
    year_ago: Period
    market: str | None
    sector: str | None
    total: int = 0  # all recalls in the period (after the market filter)
    origins: dict[str, int] = field(default_factory=dict)  # china/other/unknown (after the sector filter)
    markets: list[MarketLine] = field(default_factory=list)
    sectors: list[SectorLine] = field(default_factory=list)
    hazards: list[HazardLine] = field(default_factory=list)
    top_hazards: list[tuple[str, int]] = field(default_factory=list)
    top_products: list[tuple[str, int]] = field(default_factory=list)
    notable: list[RecallRow] = field(default_factory=list)
    monthly: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # market -> (YYYY-MM, China-made)

    @property
    def china(self) -> int:
        return self.origins.get(ORIGIN_CHINA, 0)

    @property
    def is_empty(self) -> bool:
        return self.total == 0


def in_sector(row: RecallRow, sector: str | None) -> bool:
    return sector is None or sector in row.sectors


# Rows by comparison window: "current" (the period), "previous" and "year_ago".
Windowed = dict[str, list[RecallRow]]


def analyse(
    rows: Iterable[RecallRow], period: Period, *, market: str | None = None, sector: str | None = None
) -> RecallAnalysis:
    """All tables of the report from the recalls of the window (period, previous, a year ago, 12 months)."""
    previous, year_ago = period.previous(), period.year_ago()
    rows = [r for r in rows if market is None or r.market == market]
    windows = {"current": period, "previous": previous, "year_ago": year_ago}
    by_window: Windowed = {name: [r for r in rows if p.contains(r.day)] for name, p in windows.items()}
    current = by_window["current"]
    # China-made recalls in the selected sector: what every table but the market totals counts.
    china: Windowed = {
        name: [r for r in window_rows if r.is_china and in_sector(r, sector)] for name, window_rows in by_window.items()
    }
    market_totals = Counter(r.market for r in current)
    return RecallAnalysis(
        period,
        previous,
        year_ago,
        market,
        sector,
        total=len(current),
        origins=dict(Counter(r.origin for r in current if in_sector(r, sector))),
        markets=_market_lines(current, china, sector),
        sectors=_sector_lines(china, market_totals, sector),
        hazards=_hazard_lines(china, market_totals, sector),
        top_hazards=_top(Counter(h for r in china["current"] for h in r.hazards), 12),
        top_products=_top(Counter(r.product_type for r in china["current"] if r.product_type), 10),
        notable=_notable(china["current"]),
        monthly=_monthly(rows, period, sector),
    )


def _market_lines(current: list[RecallRow], china: Windowed, sector: str | None) -> list[MarketLine]:
    """Every market with a recall in the period, or China-made recalls before it; most China-made first."""
    market_totals = Counter(r.market for r in current)
    market_counts = {name: Counter(r.market for r in window_rows) for name, window_rows in china.items()}
    origin_counts = Counter((r.market, r.origin) for r in current if in_sector(r, sector))
    serious_by_market = Counter(r.market for r in china["current"] if r.serious)
    seen_markets = set(market_totals) | set(market_counts["previous"]) | set(market_counts["year_ago"])
    return sorted(
        (
            MarketLine(
                market=m,
                total=market_totals.get(m, 0),
                china=_change(market_counts, m),
                other=origin_counts.get((m, ORIGIN_OTHER), 0),
                unknown=origin_counts.get((m, ORIGIN_UNKNOWN), 0),
                serious=serious_by_market.get(m, 0),
            )
            for m in seen_markets
        ),
        key=lambda line: (-line.china.current, -line.total, line.market),
    )


def _sector_keys(row: RecallRow, sector: str | None) -> list[tuple[str, str]]:
    """The (market, sector) cells a recall counts in: each of its sectors, or only the selected one."""
    return [(row.market, s) for s in row.sectors if sector is None or s == sector]


def _cube_keys(row: RecallRow, sector: str | None) -> list[tuple[str, str, str]]:
    """The (market, sector, hazard) cells a recall counts in: each of its hazards in each of its sector cells."""
    return [(m, s, h) for m, s in _sector_keys(row, sector) for h in row.hazards]


def _sector_lines(china: Windowed, market_totals: Counter[str], sector: str | None) -> list[SectorLine]:
    """Market x sector: China-made recalls per cell, their change, and the cell's top hazards and products."""
    sector_counts = {
        name: Counter(key for r in window_rows for key in _sector_keys(r, sector))
        for name, window_rows in china.items()
    }
    serious_sector: Counter[tuple[str, str]] = Counter()
    hazards_sector: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    products_sector: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in china["current"]:
        for key in _sector_keys(r, sector):
            serious_sector[key] += r.serious
            hazards_sector[key].update(r.hazards)
            if r.product_type:
                products_sector[key][r.product_type] += 1
    seen = set(sector_counts["current"]) | set(sector_counts["previous"]) | set(sector_counts["year_ago"])
    return sorted(
        (
            SectorLine(
                market=m,
                sector=s,
                change=_change(sector_counts, (m, s)),
                market_total=market_totals.get(m, 0),
                serious=serious_sector.get((m, s), 0),
                top_hazards=_top(hazards_sector.get((m, s))),
                top_products=_top(products_sector.get((m, s))),
            )
            for m, s in seen
        ),
        key=lambda line: (-line.change.current, -line.change.previous, line.market, line.sector),
    )


def _hazard_lines(china: Windowed, market_totals: Counter[str], sector: str | None) -> list[HazardLine]:
    """Market x sector x hazard: China-made recalls per cell and their change."""
    cube = {
        name: Counter(key for r in window_rows for key in _cube_keys(r, sector)) for name, window_rows in china.items()
    }
    serious_cube = Counter(key for r in china["current"] if r.serious for key in _cube_keys(r, sector))
    seen = set(cube["current"]) | set(cube["previous"]) | set(cube["year_ago"])
    return sorted(
        (
            HazardLine(
                market=m,
                sector=s,
                hazard=h,
                change=_change(cube, (m, s, h)),
                market_total=market_totals.get(m, 0),
                serious=serious_cube.get((m, s, h), 0),
            )
            for m, s, h in seen
        ),
        key=lambda line: (-line.change.current, -line.change.previous, line.market, line.sector, line.hazard),
    )


def _notable(china_current: list[RecallRow]) -> list[RecallRow]:
    """Serious first, then those with more named hazards, then the newest; the id breaks ties."""
    return sorted(
        china_current,
        key=lambda r: (not r.serious, -len([h for h in r.hazards if h != "other"]), -r.day.toordinal(), r.id),
    )[:NOTABLE_CASES]


def _monthly(rows: list[RecallRow], period: Period, sector: str | None) -> dict[str, list[tuple[str, int]]]:
    """China-made recalls per market in each of the 12 months up to the period's end (zeros included)."""
    months = months_back(period.end, 12)
    monthly: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r.is_china and in_sector(r, sector) and months[0].start <= r.day < months[-1].end:
            monthly[r.market][f"{r.day.year}-{r.day.month:02d}"] += 1
    return {m: [(p.label, monthly[m].get(p.label, 0)) for p in months] for m in sorted(monthly)}


def _change(counts: dict[str, Counter[Any]], key: object) -> Change:
    return Change(counts["current"].get(key, 0), counts["previous"].get(key, 0), counts["year_ago"].get(key, 0))


def _top(counter: Counter[str] | None, n: int = TOP_N) -> list[tuple[str, int]]:
    if not counter:
        return []
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
