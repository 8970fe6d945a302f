"""Which measures match which subscription, and why.

Matching is batched: the measures of a compose run are indexed once (by sector, HS prefix,
country, keyword) and every subscription is answered from those indexes, so composing for
10,000 subscribers does not issue 10,000 queries. Semantics:

* sectors, HS prefixes and keywords say *what* a subscriber cares about: a measure must meet at
  least one of those given (none given = everything); a sector counts when its tag's score reaches
  the subscription's ``min_relevance``;
* countries / country groups and kinds narrow *where* and *which kind*: when given, they must hold.

Each match carries its reasons (sector with the tag's evidence, HS code, keyword, country), which
the bulletin prints and :class:`schema.models.BulletinItem` stores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schema.models import Measure, Subscription
from tbt_alert.countries import applicable_countries
from tbt_alert.countries import country as country_row

Reason = dict[str, Any]
KEYWORD_FIELDS = ("title", "title_en", "products", "description", "product_type", "hazard", "category")


@dataclass(frozen=True)
class TagView:
    """A sector tag detached from the session (a follow-up may carry its parent's)."""

    sector: str
    score: float
    method: str
    evidence: dict[str, Any]
    inherited: bool = False


@dataclass
class Candidate:
    """A measure prepared for matching."""

    measure: Measure
    tags: list[TagView]
    hs_codes: tuple[str, ...]
    texts: dict[str, str] = field(default_factory=dict)  # field -> lower-cased text

    @property
    def id(self) -> str:
        return self.measure.id


def prepare(measures: Iterable[Measure], parents: dict[str, Measure] | None = None) -> list[Candidate]:
    """Candidates with their tags; a follow-up without tags or HS codes borrows its parent's."""
    parents = parents or {}
    found = []
    for m in measures:
        tags = [TagView(t.sector, t.score, t.method, dict(t.evidence or {})) for t in m.sector_tags]
        hs = tuple(str(c) for c in (m.hs_codes or []))
        parent = parents.get(m.parent_id) if m.parent_id else None
        if parent is not None:
            if not tags:
                tags = [TagView(t.sector, t.score, t.method, dict(t.evidence or {}), True) for t in parent.sector_tags]
            if not hs:
                hs = tuple(str(c) for c in (parent.hs_codes or []))
        texts = {name: str(getattr(m, name) or "").lower() for name in KEYWORD_FIELDS}
        texts["keywords"] = " ".join(str(k) for k in (m.keywords or [])).lower()
        found.append(Candidate(m, tags, hs, texts))
    return found


class MeasurePool:
    """The candidates of one compose run with the indexes every subscription is matched against."""

    def __init__(self, candidates: Sequence[Candidate]):
        self.candidates = list(candidates)
        self.by_sector: dict[str, list[tuple[int, TagView]]] = defaultdict(list)
        self.by_hs_prefix: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.by_country: dict[str, set[int]] = defaultdict(set)
        self.bri: set[int] = set()
        self.eu: set[int] = set()
        self.by_kind: dict[str, set[int]] = defaultdict(set)
        self._keyword_cache: dict[str, dict[int, str]] = {}
        for i, c in enumerate(self.candidates):
            for tag in c.tags:
                self.by_sector[tag.sector].append((i, tag))
            for code in c.hs_codes:
                digits = "".join(ch for ch in code if ch.isdigit())
                for n in range(2, len(digits) + 1):
                    self.by_hs_prefix[digits[:n]].append((i, digits))
            for alpha3 in applicable_countries(c.measure.country, c.measure.extra):
                self.by_country[alpha3].add(i)
                try:
                    row = country_row(alpha3)
                except KeyError:
                    row = None
                if row is not None and row.bri:
                    self.bri.add(i)
                if row is not None and row.eu:
                    self.eu.add(i)
            self.by_kind[c.measure.kind].add(i)

    def keyword_hits(self, keyword: str) -> dict[int, str]:
        """Candidate index -> the first field containing ``keyword`` (cached: keywords repeat)."""
        key = keyword.lower()
        hits = self._keyword_cache.get(key)
        if hits is None:
            hits = {}
            for i, c in enumerate(self.candidates):
                for name, text in c.texts.items():
                    if key in text:
                        hits[i] = name
                        break
            self._keyword_cache[key] = hits
        return hits

    def hs_hits(self, prefix: str) -> dict[int, str]:
        """Candidates whose HS codes start with ``prefix``, or that list a shorter code it falls under."""
        hits = dict(self.by_hs_prefix.get(prefix, []))
        for n in range(2, len(prefix)):
            for i, code in self.by_hs_prefix.get(prefix[:n], []):
                if code == prefix[:n]:
                    hits.setdefault(i, code)
        return hits

    def match(self, subscription: Subscription) -> dict[int, list[Reason]]:
        """Candidate index -> reasons, for one subscription."""
        what: dict[int, list[Reason]] = defaultdict(list)
        wants_what = bool(subscription.sectors or subscription.hs_prefixes or subscription.keywords)
        for sector in subscription.sectors or []:
            for i, tag in self.by_sector.get(sector, []):
                if tag.score >= subscription.min_relevance:
                    what[i].append(
                        {
                            "type": "sector",
                            "sector": sector,
                            "score": round(tag.score, 3),
                            "method": tag.method,
                            "evidence": tag.evidence,
                            "inherited": tag.inherited,
                        }
                    )
        for prefix in subscription.hs_prefixes or []:
            for i, code in self.hs_hits(str(prefix)).items():
                what[i].append({"type": "hs", "prefix": str(prefix), "code": code})
        for keyword in subscription.keywords or []:
            for i, field_name in self.keyword_hits(str(keyword)).items():
                what[i].append({"type": "keyword", "keyword": str(keyword), "field": field_name})

        selected: set[int] = set(what) if wants_what else set(range(len(self.candidates)))
        country_reason: dict[int, Reason] = {}
        if subscription.countries or subscription.country_groups:
            allowed: dict[int, Reason] = {}
            for group in subscription.country_groups or []:
                for i in self.bri if group == "bri" else self.eu if group == "eu" else set():
                    allowed.setdefault(
                        i, {"type": "country", "country": self.candidates[i].measure.country, "group": group}
                    )
            for code in subscription.countries or []:
                for i in self.by_country.get(code, set()):
                    allowed[i] = {"type": "country", "country": code, "group": None}
            selected &= set(allowed)
            country_reason = allowed
        if subscription.kinds:
            selected &= set().union(*(self.by_kind.get(k, set()) for k in subscription.kinds))
        result: dict[int, list[Reason]] = {}
        for i in selected:
            reasons = list(what.get(i, []))
            if i in country_reason:
                reasons.append(country_reason[i])
            result[i] = reasons
        return result


def merge_reasons(*lists: Iterable[Reason]) -> list[Reason]:
    """Reasons without repeats, in first-seen order."""
    seen: set[tuple[Any, ...]] = set()
    merged = []
    for reasons in lists:
        for r in reasons:
            key = (r.get("type"), r.get("sector"), r.get("prefix"), r.get("code"), r.get("keyword"), r.get("country"))
            if key not in seen:
                seen.add(key)
                merged.append(r)
    return merged
