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

from classifiers.taxonomy import UNTAGGED
from classifiers.versions import served
from reports.hazards import OTHER, HazardVocabulary
from reports.selection import EU, RecallRow
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


@dataclass(frozen=True)
class RuleCandidate:
    """A rule of one of the clusters' markets, with what the ranking compares."""

    measure_id: str
    kind: str
    symbol: str | None
    country: str | None
    title: str  # the English title where there is one
    date: dt.date | None  # distributed on, else published on
    url: str | None
    markets: frozenset[str]  # its country, and EU for the EU and its member states
    sectors: frozenset[str]  # its sector tags
    hs_headings: frozenset[str]  # 4-digit HS headings
    hazards: frozenset[str]  # named in title, description or keywords; "other" left out


@dataclass(frozen=True)
class ClusterProfile:
    """What the recalls of one (market, sector) cluster share, as the ranking compares it."""

    market: str
    sector: str
    hazards: tuple[str, ...]  # sorted; "other" left out
    hs_headings: frozenset[str]


def link_rules(
    engine: Engine, clusters: Sequence[tuple[str, str]], rows: Iterable[RecallRow], vocabulary: HazardVocabulary
) -> list[Cluster]:
    """For each (market, sector), the best-matching rules of that market in the database."""
    rows = list(rows)
    if not clusters:
        return []
    candidates = _load_rule_candidates(engine, {m for m, _ in clusters}, vocabulary)
    result: list[Cluster] = []
    for market, sector in clusters:
        members = [r for r in rows if r.market == market and sector in r.sectors]
        profile = _profile(market, sector, members)
        links = [link for candidate in candidates if (link := _rank(candidate, profile)) is not None]
        links.sort(key=lambda link: (-link.rank, -(link.date or dt.date.min).toordinal(), link.measure_id))
        result.append(Cluster(market, sector, len(members), profile.hazards, tuple(links[:LINKS_PER_CLUSTER])))
    return result


def _load_rule_candidates(engine: Engine, markets: set[str], vocabulary: HazardVocabulary) -> list[RuleCandidate]:
    """The top-level rules (no amendments) of the markets, EU member states included for EU, with
    their sector tags; the vocabulary reads their hazards once here, not once per cluster."""
    from tbt_alert.countries import countries

    eu_members = {c.alpha3 for c in countries() if c.eu} | {EU}
    wanted_countries = set(markets) | (eu_members if EU in markets else set())
    with engine.connect() as conn:
        measures = conn.execute(
            select(
                Measure.id,
                Measure.kind,
                Measure.document_symbol,
                Measure.country,
                Measure.title,
                Measure.title_en,
                Measure.description,
                Measure.keywords,
                Measure.hs_codes,
                Measure.distributed_on,
                Measure.published_on,
                Measure.url,
            ).where(
                Measure.kind.in_(RULE_KINDS),
                Measure.country.in_(sorted(wanted_countries)),
                Measure.parent_id.is_(None),
            )
        ).all()
        tags: dict[str, set[str]] = defaultdict(set)
        if measures:
            tag_rows = conn.execute(
                select(SectorTag.measure_id, SectorTag.sector)
                .join(Measure, Measure.id == SectorTag.measure_id)
                .where(Measure.kind.in_(RULE_KINDS), Measure.country.in_(sorted(wanted_countries)), served(SectorTag))
            )
            for measure_id, sector in tag_rows:
                tags[measure_id].add(sector)
    return [
        RuleCandidate(
            measure_id=m.id,
            kind=m.kind,
            symbol=m.document_symbol,
            country=m.country,
            title=m.title_en or m.title,
            date=m.distributed_on or m.published_on,
            url=m.url,
            markets=_markets_of(m.country, eu_members),
            sectors=frozenset(tags.get(m.id, ())),
            hs_headings=frozenset(str(c)[:4] for c in (m.hs_codes or []) if len(str(c)) >= 4),
            hazards=frozenset(
                vocabulary.classify(m.title, m.title_en, m.description, " ".join(map(str, m.keywords or [])))
            )
            - {OTHER},
        )
        for m in measures
    ]


def _markets_of(country: str | None, eu_members: set[str]) -> frozenset[str]:
    """The markets whose clusters a rule of this country concerns: its own, and EU for a member state."""
    if country is None:
        return frozenset()
    return frozenset({country, EU} if country in eu_members else {country})


def _profile(market: str, sector: str, members: list[RecallRow]) -> ClusterProfile:
    return ClusterProfile(
        market=market,
        sector=sector,
        hazards=tuple(sorted({h for r in members for h in r.hazards} - {OTHER})),
        hs_headings=frozenset(c[:4] for r in members for c in r.hs_codes if len(c) >= 4),
    )


def _rank(measure: RuleCandidate, cluster: ClusterProfile) -> RuleLink | None:
    """The measure as a link of the cluster, ranked sector 2, HS heading 2, each common hazard 1;
    None if it is of another market or shares neither sector nor HS heading with the cluster."""
    if cluster.market not in measure.markets:
        return None
    reasons: list[str] = []
    rank = 0
    if cluster.sector != UNTAGGED and cluster.sector in measure.sectors:
        reasons.append(f"sector {cluster.sector}")
        rank += 2
    common_hs = sorted(cluster.hs_headings & measure.hs_headings)
    if common_hs:
        reasons.append("HS " + ", ".join(common_hs))
        rank += 2
    if rank == 0:
        return None  # same market only is not enough to call it the rule behind the recall
    common_hazards = sorted(set(cluster.hazards) & measure.hazards)
    reasons.extend(f"hazard {h}" for h in common_hazards)
    rank += len(common_hazards)
    return RuleLink(
        measure.measure_id,
        measure.kind,
        measure.symbol,
        measure.country,
        measure.title,
        measure.date,
        measure.url,
        tuple(reasons),
        rank,
    )
