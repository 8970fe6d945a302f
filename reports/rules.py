"""The rule behind the recall: TBT notifications, regulations and standards in the database that
concern the same market and the same products as a cluster of recalls.

A cluster is the China-made recalls of one sector in one market in the period. A measure is a
candidate when it is a notification, regulation or standard of that market (for the EU: the EU
itself or a member state) and shares the cluster's sector tag or a 4-digit HS heading with it.
Candidates are ranked by how much they share (sector 2, HS heading 2, each common hazard 1,
e.g. "phthalates" in an EU toy notification next to phthalate toy recalls), then by date.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select

from reports.hazards import OTHER, HazardVocabulary
from reports.selection import EU, UNTAGGED, RecallRow
from schema.models import Measure, SectorTag

RULE_KINDS = ("tbt_notification", "regulation", "standard")
LINKS_PER_CLUSTER = 5


@dataclass(frozen=True)
class RuleLink:
    measure_id: str
    kind: str
    symbol: str | None
    country: str | None
    title: str
    date: dt.date | None
    url: str | None
    reasons: tuple[str, ...]  # "sector toys", "HS 9503", "hazard phthalates"
    rank: int


@dataclass(frozen=True)
class Cluster:
    market: str
    sector: str
    recalls: int
    hazards: tuple[str, ...]
    links: tuple[RuleLink, ...]


def link_rules(engine: Engine, clusters: Sequence[tuple[str, str]], rows: Iterable[RecallRow],
               vocabulary: HazardVocabulary) -> list[Cluster]:
    """For each (market, sector), the best-matching rules of that market in the database."""
    from tbt_alert.countries import countries

    rows = list(rows)
    if not clusters:
        return []
    markets = {m for m, _ in clusters}
    eu_members = {c.alpha3 for c in countries() if c.eu} | {EU}
    wanted_countries = set(markets) | (eu_members if EU in markets else set())
    with engine.connect() as conn:
        measures = conn.execute(
            select(Measure.id, Measure.kind, Measure.document_symbol, Measure.country, Measure.title,
                   Measure.title_en, Measure.description, Measure.keywords, Measure.hs_codes,
                   Measure.distributed_on, Measure.published_on, Measure.url)
            .where(Measure.kind.in_(RULE_KINDS), Measure.country.in_(sorted(wanted_countries)),
                   Measure.parent_id.is_(None))
        ).all()
        tags: dict[str, set[str]] = defaultdict(set)
        if measures:
            tag_rows = conn.execute(
                select(SectorTag.measure_id, SectorTag.sector)
                .join(Measure, Measure.id == SectorTag.measure_id)
                .where(Measure.kind.in_(RULE_KINDS), Measure.country.in_(sorted(wanted_countries)))
            )
            for measure_id, sector in tag_rows:
                tags[measure_id].add(sector)
    measure_hazards = {
        m.id: set(vocabulary.classify(m.title, m.title_en, m.description, " ".join(map(str, m.keywords or []))))
        - {OTHER}
        for m in measures
    }
    result: list[Cluster] = []
    for market, sector in clusters:
        members = [r for r in rows if r.market == market and sector in r.sectors]
        hazards = tuple(sorted({h for r in members for h in r.hazards} - {OTHER}))
        headings = {c[:4] for r in members for c in r.hs_codes if len(c) >= 4}
        links: list[RuleLink] = []
        for m in measures:
            in_market = m.country == market or (market == EU and m.country in eu_members)
            if not in_market:
                continue
            reasons: list[str] = []
            rank = 0
            if sector != UNTAGGED and sector in tags.get(m.id, ()):
                reasons.append(f"sector {sector}")
                rank += 2
            common_hs = sorted(headings & {str(c)[:4] for c in (m.hs_codes or []) if len(str(c)) >= 4})
            if common_hs:
                reasons.append("HS " + ", ".join(common_hs))
                rank += 2
            if rank == 0:
                continue  # same market only is not enough to call it the rule behind the recall
            common_hazards = sorted(set(hazards) & measure_hazards[m.id])
            reasons.extend(f"hazard {h}" for h in common_hazards)
            rank += len(common_hazards)
            links.append(RuleLink(m.id, m.kind, m.document_symbol, m.country, m.title_en or m.title,
                                  m.distributed_on or m.published_on, m.url, tuple(reasons), rank))
        links.sort(key=lambda link: (-link.rank, -(link.date or dt.date.min).toordinal(), link.measure_id))
        result.append(Cluster(market, sector, len(members), hazards, tuple(links[:LINKS_PER_CLUSTER])))
    return result
