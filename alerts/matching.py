"""Which measures match which subscription, and why.

Matching is batched: the measures of a compose run are indexed once (by sector, HS prefix,
country, keyword) and every subscription is answered from those indexes, so composing for
10,000 subscribers does not issue 10,000 queries. Semantics:

* sectors, HS prefixes and keywords say *what* a subscriber cares about: a measure must meet at
  least one of those given (none given = everything); a sector counts when its tag's score reaches
  the subscription's ``min_relevance``;
* countries / country groups and kinds narrow *where* and *which kind*: when given, they must hold.

An HS prefix matches the codes the source lists; a measure whose source lists none (a recall, most
standards) is matched by the HS codes the classifier suggests for it, those scoring at least the
pool's ``hs_min_score``, and the reason says ``suggested`` with the score: a suggestion never
passes for a source's code, and never competes with one.

Each match carries its reasons (sector with the tag's evidence, HS code, keyword, country), which
the bulletin prints and :class:`schema.models.BulletinItem` stores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
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


@dataclass(frozen=True)
class SuggestionView:
    """A suggested HS-6 code detached from the session (a follow-up may carry its parent's)."""

    code: str
    score: float
    name_zh: str
    name_en: str
    inherited: bool = False


@dataclass
class Candidate:
    """A measure prepared for matching."""

    measure: Measure
    tags: list[TagView]
    hs_codes: tuple[str, ...]
    texts: dict[str, str] = field(default_factory=dict)  # field -> lower-cased text
    hs_suggested: tuple[SuggestionView, ...] = ()  # best first; never mixed into hs_codes

    @property
    def id(self) -> str:
        return self.measure.id


def _suggestions(measure: Measure, *, inherited: bool = False) -> tuple[SuggestionView, ...]:
    rows = sorted(measure.hs_suggestions, key=lambda s: s.rank)
    return tuple(SuggestionView(s.code, float(s.score), s.name_zh or "", s.name_en or "", inherited) for s in rows)


def prepare(measures: Iterable[Measure], parents: dict[str, Measure] | None = None) -> list[Candidate]:
    """Candidates with their tags; a follow-up without tags or HS codes borrows its parent's, and
    one with neither source codes nor suggestions of its own borrows its parent's suggestions."""
    parents = parents or {}
    found = []
    for m in measures:
        tags = [TagView(t.sector, t.score, t.method, dict(t.evidence or {})) for t in m.sector_tags]
        hs = tuple(str(c) for c in (m.hs_codes or []))
        suggested = _suggestions(m)
        parent = parents.get(m.parent_id) if m.parent_id else None
        if parent is not None:
            if not tags:
                tags = [TagView(t.sector, t.score, t.method, dict(t.evidence or {}), True) for t in parent.sector_tags]
            if not hs:
                hs = tuple(str(c) for c in (parent.hs_codes or []))
            if not hs and not suggested:
                suggested = _suggestions(parent, inherited=True)
        texts = {name: str(getattr(m, name) or "").lower() for name in KEYWORD_FIELDS}
        texts["keywords"] = " ".join(str(k) for k in (m.keywords or [])).lower()
        found.append(Candidate(m, tags, hs, texts, suggested))
    return found


def _digits(code: str) -> str:
    return "".join(ch for ch in str(code) if ch.isdigit())


def _add_prefixes(index: dict[str, list[tuple[int, Any]]], i: int, digits: str, value: Any) -> None:
    for n in range(2, len(digits) + 1):
        index[digits[:n]].append((i, value))


def _prefix_hits(index: dict[str, list[tuple[int, str]]], prefix: str, code_of: Callable[[str], str]) -> dict[int, str]:
    """Entries under codes that start with ``prefix``, or under a shorter code ``prefix`` falls under."""
    hits = dict(index.get(prefix, []))
    for n in range(2, len(prefix)):
        for i, value in index.get(prefix[:n], []):
            if code_of(value) == prefix[:n]:
                hits.setdefault(i, value)
    return hits


class MeasurePool:
    """The candidates of one compose run with the indexes every subscription is matched against.

    ``hs_min_score``: the score from which a suggested HS code answers an HS subscription (for
    measures whose source lists no HS code); None indexes no suggestion.
    """

    def __init__(self, candidates: Sequence[Candidate], *, hs_min_score: float | None = None):
        self.candidates = list(candidates)
        self.hs_min_score = hs_min_score
        self.by_sector: dict[str, list[tuple[int, TagView]]] = defaultdict(list)
        self.by_hs_prefix: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.by_suggested_prefix: dict[str, list[tuple[int, SuggestionView]]] = defaultdict(list)
        self.by_country: dict[str, set[int]] = defaultdict(set)
        self.bri: set[int] = set()
        self.eu: set[int] = set()
        self.by_kind: dict[str, set[int]] = defaultdict(set)
        self._keyword_cache: dict[str, dict[int, str]] = {}
        for i, c in enumerate(self.candidates):
            for tag in c.tags:
                self.by_sector[tag.sector].append((i, tag))
            for code in c.hs_codes:
                digits = _digits(code)
                _add_prefixes(self.by_hs_prefix, i, digits, digits)
            if not c.hs_codes and hs_min_score is not None:
                # The source's own codes are authoritative: suggestions only where it lists none.
                for suggestion in c.hs_suggested:
                    if suggestion.score >= hs_min_score:
                        _add_prefixes(self.by_suggested_prefix, i, _digits(suggestion.code), suggestion)
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
        return _prefix_hits(self.by_hs_prefix, prefix, lambda code: code)

    def suggested_hs_hits(self, prefix: str) -> dict[int, SuggestionView]:
        """Candidates without source codes with a suggestion above the threshold under ``prefix``
        (or a suggested subheading a longer, national-line prefix falls under): the best one each."""
        found: dict[int, SuggestionView] = {}
        for n in range(2, len(prefix) + 1):
            for i, suggestion in self.by_suggested_prefix.get(prefix[:n], []):
                code = _digits(suggestion.code)
                if (n == len(prefix) or code == prefix[:n]) and (i not in found or suggestion.score > found[i].score):
                    found[i] = suggestion
        return found

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
            for i, suggestion in self.suggested_hs_hits(str(prefix)).items():
                what[i].append(
                    {
                        "type": "hs",
                        "prefix": str(prefix),
                        "code": suggestion.code,
                        "suggested": True,
                        "score": round(suggestion.score, 3),
                    }
                )
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
