"""What a measure is and why a reader gets it, in the reader's words.

A sector tag's evidence becomes one plain sentence ("文中出现「coffee maker」"), the subscriber's
reasons and the measure's product and hazard become "您订阅了「家用电器」；该召回涉及电咖啡壶，危害：
烧烫伤", the risk is said in Chinese through the glossary (the source's English words only in the
English edition), and an item opens with one line: product · market · what is required or found ·
deadline. The bulletins and the portal's measure page share these, so both read the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from alerts.gist import days_left, deadline_zh, kind_phrase_zh, short_sector
from alerts.glossary import load_glossary
from alerts.matching import Reason
from alerts.products import ProductLine
from classifiers.hs_catalogue import dotted
from classifiers.labels import country_label, kind_label, relation_label, sector_label
from tbt_alert.messages import Messages, message_tables

# The mails' words, read from messages/<lang>.yml on first use (a bulletin is in zh or en).
STRINGS: Mapping[str, Messages] = message_tables(Path(__file__).resolve().parent / "messages", ("zh", "en"))
MAX_QUOTED = 3  # words or examples quoted in one evidence sentence
EXAMPLE_CHARS = 40


class _Measure(Protocol):
    kind: str
    relation: str | None
    country: str | None
    title: str
    title_en: str | None
    product_type: str | None
    category: str | None
    risk_type: str | None
    risk_level: str | None
    hazard: str | None
    comment_deadline: dt.date | None
    entry_into_force: dt.date | None
    distributed_on: dt.date | None
    published_on: dt.date | None


class _Tag(Protocol):
    @property
    def sector(self) -> str: ...
    @property
    def score(self) -> float: ...


def words(lang: str) -> Messages:
    return STRINGS[lang if lang in STRINGS else "zh"]


def _quote(values: Iterable[object], lang: str) -> str:
    """「a」「b」 in Chinese, “a”, “b” in English; at most MAX_QUOTED, each shortened."""
    texts = [v for v in (str(x).strip() for x in values) if v][:MAX_QUOTED]
    texts = [t if len(t) <= EXAMPLE_CHARS else t[: EXAMPLE_CHARS - 1] + "…" for t in texts]
    return "」「".join(texts) if lang == "zh" else "”, “".join(texts)


def example_text(value: object) -> str:
    """A nearest labelled example ("[eu_safety_gate] Soft toy | Toys | …") as its product words only."""
    raw = str(value.get("example", "")) if isinstance(value, Mapping) else str(value)
    return raw.split("] ", 1)[-1].split(" | ", 1)[0].strip()


def _listed(value: object) -> list[object]:
    if isinstance(value, list | tuple):
        return list(value)
    return [] if value in (None, "") else [value]


def evidence_sentence(method: str, evidence: Mapping[str, Any], lang: str) -> str:
    """Why a sector was given, in one plain sentence (no scores, thresholds or versions)."""
    t = words(lang)
    sep = t["clause_sep"]
    parts: list[str] = []
    if evidence.get("hs_codes"):
        parts.append(t["ev_hs"].format(codes=", ".join(dotted(str(c)) for c in _listed(evidence["hs_codes"])[:4])))
    if evidence.get("ics_codes"):
        parts.append(t["ev_ics"].format(codes=", ".join(str(c) for c in _listed(evidence["ics_codes"])[:4])))
    if evidence.get("category"):
        parts.append(t["ev_category"].format(words=_quote(_listed(evidence["category"]), lang)))
    named = _listed(evidence.get("keywords")) + _listed(evidence.get("matched")) + _listed(evidence.get("text"))
    if named:
        parts.append(t["ev_words"].format(words=_quote(named, lang)))
    if evidence.get("hazard_terms"):
        parts.append(t["ev_hazard_terms"].format(words=_quote(_listed(evidence["hazard_terms"]), lang)))
    if evidence.get("terms") and not named:
        parts.append(t["ev_terms"].format(words=_quote(_listed(evidence["terms"]), lang)))
    examples = [example_text(e) for e in _listed(evidence.get("nearest_examples"))]
    if any(examples):
        parts.append(t["ev_examples"].format(examples=_quote(examples, lang)))
    if not parts:
        parts.append(t["ev_manual"] if method == "manual" else t["ev_model"])
    return sep.join(parts)


def sector_reasons(tags: Iterable[Any], lang: str) -> list[dict[str, str]]:
    """Each sector tag, best first, as {name, reason, score, method}: the name in the reader's
    language and one plain sentence saying why."""
    rows = []
    for tag in sorted(tags, key=lambda x: -x.score):
        rows.append(
            {
                "code": tag.sector,
                "name": sector_label(tag.sector, lang),
                "reason": evidence_sentence(tag.method, tag.evidence or {}, lang),
                "score": f"{tag.score:.2f}",
                "method": tag.method,
            }
        )
    return rows


def hazards_zh(measure: _Measure) -> list[str]:
    """The recall's hazards in Chinese, from its risk type (and, failing that, its hazard text)."""
    glossary = load_glossary()
    found = glossary.find(measure.risk_type, categories=("hazard",)) or glossary.find(
        measure.hazard, categories=("hazard",)
    )
    return list(dict.fromkeys(t.zh for t in found))


def risk_text(measure: _Measure, lang: str) -> str:
    """Risk type and level: in Chinese through the glossary (words it does not know are left out,
    never shown in English); in the English edition as the source gives them."""
    if lang != "zh":
        return " · ".join(x for x in (measure.risk_type, measure.risk_level) if x)
    level = load_glossary().find(measure.risk_level, categories=("risk_level",))
    hazards = hazards_zh(measure)
    parts = ["、".join(hazards[:4])] if hazards else []
    if level:
        parts.append(level[0].zh)
    return " · ".join(parts)


def product_name(measure: _Measure, line: ProductLine | None, tags: Iterable[_Tag], lang: str) -> str | None:
    """What the item is, named in the reader's language: the product line's name (a guess says
    so), else the glossary's products found in the title and fields (zh), else the sectors."""
    if line is not None:
        return line.name + (words(lang)["guessed"] if line.suggested else "")
    if lang == "zh":
        text = " ".join(x for x in (measure.title, measure.title_en, measure.product_type, measure.category) if x)
        products = [t.zh for t in load_glossary().find(text, categories=("product",))]
        if products:
            return "、".join(products[:2])
        sectors = list(dict.fromkeys(short_sector(sector_label(t.sector, "zh")) for t in tags))
        return "、".join(sectors[:2]) or None
    # Only a recall's product type names a product; a standard's says "ГОСТ".
    return (measure.product_type or None) if measure.kind == "recall" else None


def _what(measure: _Measure, lang: str) -> str:
    """What is required (the kind of measure) or what was found (a recall and its hazard)."""
    t = words(lang)
    if measure.kind == "recall":
        risk = risk_text(measure, lang)
        return t["headline_recall"].format(risk=risk) if risk else kind_label("recall", lang)
    if lang == "zh":
        return kind_phrase_zh(measure)
    relation = relation_label(measure.relation, lang)
    return kind_label(measure.kind, lang) + (f" ({relation})" if relation else "")


def _when(measure: _Measure, lang: str, today: dt.date) -> str:
    t = words(lang)
    if measure.comment_deadline is not None:
        if lang == "zh":
            return deadline_zh(measure.comment_deadline, today)
        left = days_left(measure.comment_deadline, today) or 0
        note = t["closed"] if left < 0 else t["today"] if left == 0 else t["days_left"].format(d=left)
        return f"{t['deadline']} {measure.comment_deadline.isoformat()} ({note})"
    if measure.entry_into_force is not None:
        return f"{t['entry_into_force']} {measure.entry_into_force.isoformat()}"
    first = measure.published_on or measure.distributed_on
    return f"{t['published']} {first.isoformat()}" if first else ""


def headline(measure: _Measure, line: ProductLine | None, tags: Sequence[_Tag], lang: str, today: dt.date) -> str:
    """The line an item opens with: 「电咖啡壶或茶壶 · 芬兰 · 召回：烧烫伤 · 严重风险 · 发布 2025-12-03」."""
    parts = [
        product_name(measure, line, tags, lang) or "",
        country_label(measure.country, lang),
        _what(measure, lang),
        _when(measure, lang, today),
    ]
    return " · ".join(p for p in parts if p)


def _follow(reason: Reason, lang: str) -> str:
    t = words(lang)
    kind = reason.get("type")
    if kind == "sector":
        return t["follow_sector"].format(name=short_sector(sector_label(reason["sector"], lang)))
    if kind == "hs":
        code = dotted(str(reason["code"]))
        if reason.get("suggested"):
            return t["follow_hs_suggested"].format(
                prefix=reason["prefix"], code=code, score=f"{float(reason.get('score') or 0):.2f}"
            )
        return t["follow_hs"].format(prefix=reason["prefix"], code=code)
    if kind == "keyword":
        return t["follow_keyword"].format(keyword=reason["keyword"])
    if kind == "country":
        name = country_label(reason["country"], lang)
        if reason.get("group"):
            name = t["group_" + reason["group"]]
        return t["follow_country"].format(name=name)
    return ""


def about(measure: _Measure, product: str | None, lang: str) -> str:
    """「该召回涉及电咖啡壶，危害：烧烫伤」: what the measure concerns, and a recall's hazard."""
    t = words(lang)
    hazards = "、".join(hazards_zh(measure)[:3]) if lang == "zh" else (measure.risk_type or "")
    if measure.kind == "recall":
        text = t["about_recall"].format(product=product) if product else ""
        if hazards:
            text += (t["comma"] if text else "") + t["about_hazard"].format(hazards=hazards)
        return text
    if not product:
        return ""
    return t["about_measure"].format(kind=kind_label(measure.kind, lang), product=product)


def plain_reasons(reasons: Sequence[Reason], measure: _Measure, product: str | None, lang: str) -> str:
    """「您订阅了「家用电器」；该召回涉及电咖啡壶，危害：烧烫伤」 (why this reader gets the item)."""
    t = words(lang)
    followed = list(dict.fromkeys(w for w in (_follow(r, lang) for r in reasons) if w))
    clauses = [t["you_follow"].format(what=t["list_sep"].join(followed)) if followed else t["you_follow_all"]]
    told = about(measure, product, lang)
    if told:
        clauses.append(told)
    return t["clause_sep"].join(clauses)


__all__ = [
    "STRINGS",
    "about",
    "evidence_sentence",
    "example_text",
    "hazards_zh",
    "headline",
    "plain_reasons",
    "product_name",
    "risk_text",
    "sector_reasons",
    "words",
]
