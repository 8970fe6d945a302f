"""The recall-risk score of a sector in a market, and the export-exposure table it reads.

    score = 100 × (0.40·f + 0.20·t + 0.25·s + 0.15·e) / (0.85 + 0.15·[e known])

over the China-made recalls of the sector in the market in the 12 calendar months ending
with the report period:

- f, smoothed recent frequency: F = Σ wₖ·cₖ / Σ wₖ, the exponentially weighted mean of the
  monthly counts cₖ with a half-life of 3 months (wₖ = 0.5^(age in months / 3)), squashed
  to 0..1 as f = F / (F + 1), so one recall a month gives 0.5 and it never saturates;
- t, trend: t = 0.5 + 0.5·tanh(ln((R + 1) / (B + 1))), R = recalls in the last 6 months,
  B = in the 6 months before; 0.5 means flat, above rising, below falling;
- s, severity: mean weight of the recalls whose seriousness is known (serious or class I = 1,
  high = 0.75, medium or class II = 0.5, Safety Gate "other risk levels" = 0.4, low or
  class III = 0.25); 0.5 when none is known;
- e, export exposure: the sector's share of Zhejiang exports going to that market, from
  ``reports/data/zhejiang_export_shares.csv``, as e = min(1, share / 0.30) (a third of the
  sector's exports is full exposure). Where the table has no value, the term is left out and
  the weights of the others are rescaled (the report flags it).
"""

from __future__ import annotations

import csv
import functools
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from classifiers.taxonomy import UNTAGGED
from reports.periods import Period, months_back
from reports.selection import SEVERITY_WEIGHTS, RecallRow
from tbt_alert.errors import TbtError

EXPOSURE_FILE = Path(__file__).resolve().parent / "data" / "zhejiang_export_shares.csv"
WEIGHTS = {"f": 0.40, "t": 0.20, "s": 0.25, "e": 0.15}
HALF_LIFE_MONTHS = 3.0
FULL_EXPOSURE_SHARE = 0.30
NEUTRAL_SEVERITY = 0.5
FORMULA = "score = 100 × (0.40·f + 0.20·t + 0.25·s + 0.15·e) / (0.85 + 0.15·[e known])"


@dataclass(frozen=True)
class Exposure:
    share: float
    status: str  # placeholder, estimate, official
    basis: str


@dataclass(frozen=True)
class ExposureTable:
    values: dict[tuple[str, str], Exposure]
    source_note: str  # the file's header comment, shown in the report

    def get(self, sector: str, market: str) -> Exposure | None:
        return self.values.get((sector, market))

    @property
    def all_placeholders(self) -> bool:
        return all(v.status == "placeholder" for v in self.values.values())


@functools.cache
def load_exposure(path: Path = EXPOSURE_FILE) -> ExposureTable:
    """Read the editable export-share table; a bad line names the file, line and what to fix."""
    text = path.read_text(encoding="utf-8")
    comments = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
    body = "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    values: dict[tuple[str, str], Exposure] = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(body)), start=1):
        try:
            value = float(row["share"])
        except (TypeError, ValueError):
            raise TbtError(f"{path}: data row {number} has share {row.get('share')!r}; write a fraction.") from None
        if not 0.0 <= value <= 1.0:
            raise TbtError(f"{path}: data row {number} has share {value}; write a fraction between 0 and 1.")
        status = (row.get("status") or "").strip()
        if status not in {"placeholder", "estimate", "official"}:
            raise TbtError(f"{path}: data row {number} has status {status!r}; write placeholder, estimate or official.")
        values[(row["sector"].strip(), row["market"].strip().upper())] = Exposure(value, status, row.get("basis") or "")
    return ExposureTable(values, " ".join(comments))


@dataclass(frozen=True)
class RiskScore:
    sector: str
    market: str
    monthly: tuple[int, ...]  # China-made recalls per month, oldest first (12 months)
    frequency: float  # F, recalls per month, smoothed
    f: float
    recent: int  # R
    before: int  # B
    t: float
    s: float
    severity_known: int
    exposure: Exposure | None
    e: float | None
    score: float


def score_pairs(
    rows: Iterable[RecallRow],
    period: Period,
    exposure: ExposureTable,
    *,
    market: str | None = None,
    sector: str | None = None,
) -> list[RiskScore]:
    """A score for every sector × market with a China-made recall in the 12 months ending with ``period``."""
    months = months_back(period.end, 12)
    index = {m.label: k for k, m in enumerate(months)}
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 12)
    weights: dict[tuple[str, str], list[float]] = defaultdict(list)
    start, end = months[0].start, months[-1].end
    for r in rows:
        if not r.is_china or not start <= r.day < end or (market is not None and r.market != market):
            continue
        k = index[f"{r.day.year}-{r.day.month:02d}"]
        for s in r.sectors:
            if s == UNTAGGED or (sector is not None and s != sector):
                continue
            counts[(s, r.market)][k] += 1
            if r.severity in SEVERITY_WEIGHTS:
                weights[(s, r.market)].append(SEVERITY_WEIGHTS[r.severity])
    scores = [_score(s, m, tuple(c), weights.get((s, m), []), exposure.get(s, m)) for (s, m), c in counts.items()]
    return sorted(scores, key=lambda x: (-x.score, x.sector, x.market))


def _score(
    sector: str, market: str, monthly: tuple[int, ...], severities: list[float], exposure: Exposure | None
) -> RiskScore:
    w = [0.5 ** ((len(monthly) - 1 - k) / HALF_LIFE_MONTHS) for k in range(len(monthly))]
    frequency = sum(wk * ck for wk, ck in zip(w, monthly, strict=True)) / sum(w)
    f = frequency / (frequency + 1.0)
    recent, before = sum(monthly[6:]), sum(monthly[:6])
    t = 0.5 + 0.5 * math.tanh(math.log((recent + 1) / (before + 1)))
    s = sum(severities) / len(severities) if severities else NEUTRAL_SEVERITY
    e = min(1.0, exposure.share / FULL_EXPOSURE_SHARE) if exposure else None
    total = WEIGHTS["f"] * f + WEIGHTS["t"] * t + WEIGHTS["s"] * s
    norm = WEIGHTS["f"] + WEIGHTS["t"] + WEIGHTS["s"]
    if e is not None:
        total += WEIGHTS["e"] * e
        norm += WEIGHTS["e"]
    return RiskScore(
        sector,
        market,
        monthly,
        round(frequency, 3),
        round(f, 3),
        recent,
        before,
        round(t, 3),
        round(s, 3),
        len(severities),
        exposure,
        None if e is None else round(e, 3),
        round(100.0 * total / norm, 1),
    )
