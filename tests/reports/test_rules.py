"""Ranking of a rule against a cluster of recalls, without a database (reports.rules._rank)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from reports.rules import ClusterProfile, RuleCandidate, RuleLink, _rank
from reports.selection import EU, UNTAGGED

RULE = RuleCandidate(
    measure_id="m1",
    kind="tbt_notification",
    symbol="G/TBT/N/EU/1",
    country="DEU",
    title="Toys: phthalates",
    date=dt.date(2025, 3, 1),
    url="https://example.org/m1",
    markets=frozenset({"DEU", EU}),
    sectors=frozenset({"toys"}),
    hs_headings=frozenset({"9503"}),
    hazards=frozenset({"phthalates", "choking"}),
)
CLUSTER = ClusterProfile(
    market=EU, sector="toys", hazards=("chemical", "phthalates"), hs_headings=frozenset({"9503", "9505"})
)


def _rule(**changes: Any) -> RuleCandidate:
    return replace(RULE, **changes)


def _cluster(**changes: Any) -> ClusterProfile:
    return replace(CLUSTER, **changes)


def test_sector_heading_and_each_common_hazard_add_to_the_rank() -> None:
    link = _rank(_rule(), _cluster())
    assert link == RuleLink(
        measure_id="m1",
        kind="tbt_notification",
        symbol="G/TBT/N/EU/1",
        country="DEU",
        title="Toys: phthalates",
        date=dt.date(2025, 3, 1),
        url="https://example.org/m1",
        reasons=("sector toys", "HS 9503", "hazard phthalates"),
        rank=5,
    )


@pytest.mark.parametrize(
    ("rule", "cluster", "reasons", "rank"),
    [
        ({"hs_headings": frozenset()}, {}, ("sector toys", "hazard phthalates"), 3),
        ({"sectors": frozenset()}, {}, ("HS 9503", "hazard phthalates"), 3),
        ({"hazards": frozenset()}, {}, ("sector toys", "HS 9503"), 4),
        ({"hs_headings": frozenset({"9505", "9503"})}, {}, ("sector toys", "HS 9503, 9505", "hazard phthalates"), 5),
        # Untagged recalls share no sector with a rule, even one tagged "untagged".
        ({"sectors": frozenset({UNTAGGED})}, {"sector": UNTAGGED}, ("HS 9503", "hazard phthalates"), 3),
    ],
)
def test_rank_reasons(rule: dict[str, Any], cluster: dict[str, Any], reasons: tuple[str, ...], rank: int) -> None:
    link = _rank(_rule(**rule), _cluster(**cluster))
    assert link is not None
    assert (link.reasons, link.rank) == (reasons, rank)


@pytest.mark.parametrize(
    ("rule", "cluster"),
    [
        ({"markets": frozenset({"USA"})}, {}),  # another market
        ({"markets": frozenset({"DEU"})}, {}),  # a member state's rule outside the EU market
        ({"sectors": frozenset(), "hs_headings": frozenset()}, {}),  # the market and hazards alone are not enough
        ({}, {"sector": "lighting", "hs_headings": frozenset()}),
        ({"sectors": frozenset({UNTAGGED}), "hs_headings": frozenset()}, {"sector": UNTAGGED}),
    ],
)
def test_no_link(rule: dict[str, Any], cluster: dict[str, Any]) -> None:
    assert _rank(_rule(**rule), _cluster(**cluster)) is None
