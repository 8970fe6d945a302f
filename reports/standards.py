"""Standards behind the recalls and the bureau's standards-comparison export (issue 27).

``cited_behind`` counts, per market × sector, the standards the period's China-made recalls
cite (one count per recall and standard key, so "EN 60335-1 and EN 60335-2-30" in one recall
counts EN 60335 once). ``comparison_rows`` is the export for the bureau's comparison work:
per sector, market and standard, how many measures cite it (recalls and others), the
editions and national adoptions seen, and the Chinese counterpart, which stays empty, with
that said, until public correspondence data is recorded (``reports/data/standards_correspondence.md``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from classifiers import labels as names
from classifiers.versions import served
from reports.selection import RecallRow
from schema.engine import session_scope
from schema.models import Measure, MeasureStandard, SectorTag

TOP_PER_CLUSTER = 5
NO_COUNTERPART_ZH = "暂无对应国家标准数据"
_IN_LIST = 500


@dataclass(frozen=True)
class CitedBehind:
    market: str
    sector: str
    recalls: int  # China-made recalls of the period in this market and sector
    standards: tuple[tuple[str, int], ...]  # (key, recalls citing it), most cited first


def _keys_by_measure(engine: Engine, ids: Sequence[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    with session_scope(engine) as session:
        for start in range(0, len(ids), _IN_LIST):
            stmt = select(MeasureStandard.measure_id, MeasureStandard.key).where(
                MeasureStandard.measure_id.in_(ids[start : start + _IN_LIST])
            )
            for measure_id, key in session.execute(stmt):
                found[measure_id].add(key)
    return found


def cited_behind(engine: Engine, recalls: Iterable[RecallRow], *, top: int = TOP_PER_CLUSTER) -> list[CitedBehind]:
    """The most-cited standards behind ``recalls`` per market × sector, busiest clusters first."""
    rows = list(recalls)
    keys = _keys_by_measure(engine, [r.id for r in rows])
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    totals: Counter[tuple[str, str]] = Counter()
    for row in rows:
        for sector in row.sectors:
            totals[(row.market, sector)] += 1
            counts[(row.market, sector)].update(keys.get(row.id, ()))
    lines = [
        CitedBehind(market, sector, totals[(market, sector)], tuple(counts[(market, sector)].most_common(top)))
        for (market, sector) in totals
        if counts[(market, sector)]
    ]
    return sorted(lines, key=lambda c: (-sum(n for _, n in c.standards), c.market, c.sector))


COMPARISON_COLUMNS = (
    "行业代码 sector",
    "行业 sector_zh",
    "市场 market",
    "市场名称 market_zh",
    "标准 standard",
    "引用措施数 measures",
    "其中召回 recalls",
    "其中通报与法规 notifications_and_regulations",
    "引用的部分与版本 editions",
    "本国采用写法 national_adoptions",
    "对应中国国家标准 chinese_counterpart",
)


def comparison_rows(engine: Engine, *, market: str | None = None, sector: str | None = None) -> list[dict[str, Any]]:
    """One row per sector × market × standard key, for every measure that cites a standard."""
    stmt = (
        select(Measure.id, Measure.kind, Measure.country, MeasureStandard.key, MeasureStandard.code)
        .join(MeasureStandard, MeasureStandard.measure_id == Measure.id)
        .where(Measure.withdrawn.is_(False))
    )
    if market:
        stmt = stmt.where(Measure.country == market)
    with session_scope(engine) as session:
        cited = list(session.execute(stmt))
        ids = sorted({row.id for row in cited})
        sectors: dict[str, set[str]] = defaultdict(set)
        for start in range(0, len(ids), _IN_LIST):
            chunk = ids[start : start + _IN_LIST]
            for measure_id, code in session.execute(
                select(SectorTag.measure_id, SectorTag.sector).where(SectorTag.measure_id.in_(chunk), served(SectorTag))
            ):
                sectors[measure_id].add(code)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in cited:
        for code in sorted(sectors.get(row.id) or {""}):
            if sector and code != sector:
                continue
            group = groups.setdefault(
                (code, row.country or "", row.key), {"measures": set(), "recalls": set(), "codes": set()}
            )
            group["measures"].add(row.id)
            if row.kind == "recall":
                group["recalls"].add(row.id)
            group["codes"].add(row.code)
    out = []
    for (code, country, key), group in sorted(groups.items()):
        adoptions = sorted(c.rsplit(" " + key, 1)[0] for c in group["codes"] if not c.startswith(key))
        out.append(
            {
                "sector": code,
                "sector_zh": names.sector_zh(code) if code else "未标注行业",
                "market": country,
                "market_zh": names.market_zh(country) if country else "未注明",
                "standard": key,
                "measures": len(group["measures"]),
                "recalls": len(group["recalls"]),
                "notifications_and_regulations": len(group["measures"]) - len(group["recalls"]),
                "editions": "; ".join(sorted(c for c in group["codes"] if c.startswith(key))),
                "national_adoptions": "; ".join(sorted(set(adoptions))),
                "chinese_counterpart": NO_COUNTERPART_ZH,
            }
        )
    return out


def comparison_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The export as CSV with bilingual headers (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COMPARISON_COLUMNS)
    for row in rows:
        writer.writerow([row[c.split(" ", 1)[1]] for c in COMPARISON_COLUMNS])
    return "\ufeff" + buffer.getvalue()
