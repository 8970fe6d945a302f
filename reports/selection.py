"""Read the recalls a report needs from the database, one compact row per recall.

The rules of selection, which the report prints and the tests recompute independently:

- a recall is a measure of kind ``recall`` that is not a follow-up (``parent_id`` is NULL:
  a recall update is not a new recall) and not withdrawn, dated by ``published_on``
  (recalls without a date cannot be placed in a period and are left out);
- its **market** is the jurisdiction of its source (EU Safety Gate -> ``EUR``), or the
  measure's own country when the source has no single jurisdiction; every EU member state
  is grouped under ``EUR``;
- its **origin** is China when ``country_of_origin`` is ``CHN`` or a manufacturer country the
  source gives in ``extra`` (CPSC lists several) is China; any other country is "other"; no
  country at all is "unknown" and is never counted as China;
- its **sectors** are the distinct sectors of its SectorTag rows; none -> ``untagged``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, false, func, or_, select
from sqlalchemy.orm import Session

from classifiers.taxonomy import UNTAGGED
from classifiers.versions import served
from reports.hazards import HazardVocabulary
from schema.models import Measure, SectorTag, Source

CHINA = "CHN"
ORIGIN_CHINA, ORIGIN_OTHER, ORIGIN_UNKNOWN = "china", "other", "unknown"
EU = "EUR"
# Keys in which recall sources put manufacturer countries when they have no origin field.
MANUFACTURER_KEYS = ("manufacturer_country", "manufacturer_countries", "manufacturerCountries", "manufactured_in")
# Jurisdictions that are not one market (a WTO-wide feed); the measure's own country is used.
NOT_A_MARKET = {"WTO", "INT", "XXX"}

SEVERITY_WEIGHTS = {"serious": 1.0, "high": 0.75, "medium": 0.5, "other": 0.4, "low": 0.25}
_PAREN = re.compile(r"\([^)]*\)")
_CLASS_I = re.compile(r"\b(?:type|class)\s*(?:i|1)\b", re.IGNORECASE)
_CLASS_II = re.compile(r"\b(?:type|class)\s*(?:ii|2)\b", re.IGNORECASE)
_CLASS_III = re.compile(r"\b(?:type|class)\s*(?:iii|3)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RecallRow:
    """One recall as the report sees it."""

    id: str
    source_id: str
    day: dt.date
    market: str
    origin: str  # china, other, unknown
    sectors: tuple[str, ...]
    hazards: tuple[str, ...]
    severity: str  # serious, high, medium, other, low, unknown
    product_type: str | None
    title: str
    url: str | None
    hs_codes: tuple[str, ...]

    @property
    def is_china(self) -> bool:
        return self.origin == ORIGIN_CHINA

    @property
    def serious(self) -> bool:
        return self.severity == "serious"


def market_of(jurisdiction: str | None, country: str | None, is_eu: Any) -> str:
    """The market a recall belongs to: its source's jurisdiction, EU member states under EUR."""
    code = jurisdiction if jurisdiction and jurisdiction not in NOT_A_MARKET else country
    if not code:
        return "unknown"
    code = code.upper()
    if code != EU and is_eu(code):
        return EU
    return code


def origin_of(country_of_origin: str | None, extra: dict[str, Any] | None, to_alpha3: Any) -> str:
    """china / other / unknown, by the rule in the module docstring."""
    codes = [country_of_origin.upper()] if country_of_origin else []
    for key in MANUFACTURER_KEYS:
        value = (extra or {}).get(key)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, dict):
                item = item.get("Country") or item.get("country") or item.get("name")
            if isinstance(item, str) and item.strip():
                text = item.strip()
                code = text if len(text) == 3 and text.isupper() else to_alpha3(_PAREN.sub("", text).strip())
                if code:
                    codes.append(code)
    if not codes:
        return ORIGIN_UNKNOWN
    return ORIGIN_CHINA if CHINA in codes else ORIGIN_OTHER


def severity_of(risk_level: str | None) -> str:
    """Safety Gate levels and recall classes on one scale; the highest class named wins."""
    if not risk_level:
        return "unknown"
    text = risk_level.strip().lower()
    if "serious" in text or _CLASS_I.search(text):
        return "serious"
    if "high" in text:
        return "high"
    if "medium" in text or _CLASS_II.search(text):
        return "medium"
    if "low" in text or _CLASS_III.search(text):
        return "low"
    if text.startswith("other"):
        return "other"
    return "unknown"


def _recall_filter(start: dt.date, end: dt.date) -> Any:
    return and_(
        Measure.kind == "recall",
        Measure.parent_id.is_(None),
        or_(Measure.withdrawn.is_(None), Measure.withdrawn == false()),
        Measure.published_on >= start,
        Measure.published_on < end,
    )


def load_recalls(engine: Engine, start: dt.date, end: dt.date, vocabulary: HazardVocabulary) -> list[RecallRow]:
    """Every recall published in [start, end), with market, origin, sectors and hazards resolved."""
    from tbt_alert.countries import is_eu, to_alpha3

    where = _recall_filter(start, end)
    sectors: dict[str, set[str]] = defaultdict(set)
    with engine.connect() as conn:
        tag_rows = conn.execute(
            select(SectorTag.measure_id, SectorTag.sector)
            .join(Measure, Measure.id == SectorTag.measure_id)
            .where(where, served(SectorTag))
        )
        for measure_id, sector in tag_rows:
            sectors[measure_id].add(sector)
        rows = conn.execute(
            select(
                Measure.id,
                Measure.source_id,
                Measure.published_on,
                Source.jurisdiction,
                Measure.country,
                Measure.country_of_origin,
                Measure.extra,
                Measure.risk_type,
                Measure.hazard,
                Measure.risk_level,
                Measure.product_type,
                Measure.category,
                Measure.title,
                Measure.url,
                Measure.hs_codes,
            )
            .join(Source, Source.id == Measure.source_id)
            .where(where)
            .order_by(Measure.published_on, Measure.id)
        ).all()
    eu_cache: dict[str, bool] = {}

    def cached_is_eu(code: str) -> bool:
        if code not in eu_cache:
            try:
                eu_cache[code] = is_eu(code)
            except KeyError:  # not a registry code: cannot be an EU member
                eu_cache[code] = False
        return eu_cache[code]

    # Health Canada repeats a few hundred issue texts over 33,000 recalls: classify each text once.
    hazard_cache: dict[tuple[str | None, str | None], tuple[str, ...]] = {}
    result: list[RecallRow] = []
    for r in rows:
        key = (r.risk_type, r.hazard)
        if key not in hazard_cache:
            hazard_cache[key] = vocabulary.classify(r.risk_type, r.hazard)
        result.append(
            RecallRow(
                id=r.id,
                source_id=r.source_id,
                day=r.published_on,
                market=market_of(r.jurisdiction, r.country, cached_is_eu),
                origin=origin_of(r.country_of_origin, r.extra, to_alpha3),
                sectors=tuple(sorted(sectors.get(r.id, ()))) or (UNTAGGED,),
                hazards=hazard_cache[key],
                severity=severity_of(r.risk_level),
                product_type=_product_type(r.product_type, r.category),
                title=r.title,
                url=r.url,
                hs_codes=tuple(str(c) for c in (r.hs_codes or [])),
            )
        )
    return result


def _product_type(product_type: str | None, category: str | None) -> str | None:
    """A short product label for the "top product types" table: the type, else the category."""
    text = (product_type or category or "").strip()
    return text[:1].upper() + text[1:].lower() if text else None


def filter_rows(rows: Iterable[RecallRow], *, market: str | None = None) -> list[RecallRow]:
    return [r for r in rows if market is None or r.market == market]


def latest_recall_quarter(session: Session) -> str | None:
    """The quarter (``2025-Q4``) of the latest ``published_on`` of any measure of kind recall; None without any."""
    latest = session.scalar(select(func.max(Measure.published_on)).where(Measure.kind == "recall"))
    return None if latest is None else f"{latest.year}-Q{(latest.month - 1) // 3 + 1}"


# Fewer recalls than this make a report of empty charts and "n/a" shares: not the first one to read.
MIN_READABLE_RECALLS = 20


@dataclass(frozen=True)
class QuarterChoice:
    """The quarter a default report covers, how many recalls it holds, and why it was picked."""

    period: str  # 2025-Q4
    recalls: int
    why: str  # readable (complete, >= MIN_READABLE_RECALLS), fullest (no complete quarter has enough), current
    latest: str  # the latest quarter with any recall, for the summary
    latest_recalls: int


def recalls_by_quarter(session: Session) -> dict[str, int]:
    """Recalls per quarter (``2025-Q4`` -> 200), counted by the report's own selection rules."""
    counts: dict[str, int] = defaultdict(int)
    days = session.scalars(select(Measure.published_on).where(_recall_filter(dt.date(1, 1, 1), dt.date(9999, 12, 31))))
    for day in days:
        if day is not None:
            counts[f"{day.year}-Q{(day.month - 1) // 3 + 1}"] += 1
    return dict(counts)


def readable_recall_quarter(
    session: Session, today: dt.date, *, min_recalls: int = MIN_READABLE_RECALLS
) -> QuarterChoice | None:
    """The most recent complete quarter (ended before ``today``) with at least ``min_recalls``
    recalls; else the complete quarter with the most; else the current one. None without recalls."""
    counts = recalls_by_quarter(session)
    if not counts:
        return None
    # 2025-Q4 sorts as (2025, 4); a quarter is complete once today is past its last day.
    ordered = sorted(counts, key=lambda q: (int(q[:4]), int(q[-1])), reverse=True)
    current = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    complete = [q for q in ordered if (int(q[:4]), int(q[-1])) < (int(current[:4]), int(current[-1]))]
    latest = ordered[0]
    readable = [q for q in complete if counts[q] >= min_recalls]
    if readable:
        period, why = readable[0], "readable"
    elif complete:
        period, why = max(complete, key=lambda q: (counts[q], q)), "fullest"
    else:
        period, why = latest, "current"
    return QuarterChoice(period, counts[period], why, latest, counts[latest])
