"""The Chinese gist of a measure, built from its structured fields and the glossary.

No trustworthy machine-translation model can be installed offline, so the gist never translates:
it states the country, kind, sectors, products, hazards and dates in Chinese, and glosses key
terms found in the title as «中文 original» pairs. Bulletins always show the original title beside it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from alerts.glossary import Term, load_glossary
from classifiers.labels import country_label, kind_label, relation_label, sector_label

SEP = " · "
MAX_GLOSSES = 4


class _Tag(Protocol):
    @property
    def sector(self) -> str: ...
    @property
    def score(self) -> float: ...


class _Titled(Protocol):
    kind: str
    relation: str | None
    title: str
    title_en: str | None


class _Measure(Protocol):
    kind: str
    relation: str | None
    country: str | None
    title: str
    title_en: str | None
    products: str | None
    product_type: str | None
    category: str | None
    hazard: str | None
    risk_type: str | None
    risk_level: str | None
    language: str | None
    country_of_origin: str | None
    distributed_on: dt.date | None
    published_on: dt.date | None
    comment_deadline: dt.date | None
    entry_into_force: dt.date | None


def days_left(deadline: dt.date | None, today: dt.date) -> int | None:
    return None if deadline is None else (deadline - today).days


def deadline_zh(deadline: dt.date | None, today: dt.date) -> str:
    left = days_left(deadline, today)
    if deadline is None or left is None:
        return ""
    if left < 0:
        return f"评议截止 {deadline.isoformat()}（已截止）"
    if left == 0:
        return f"评议截止 {deadline.isoformat()}（今天截止）"
    return f"评议截止 {deadline.isoformat()}（剩 {left} 天）"


def _gloss(term: Term, text: str, lang: str | None) -> str:
    """«zh form» with the form in the language the term was found in (the title's own words)."""
    found = term.found_in(text, lang)
    label = term.label(found) if found else ""
    return f"{term.zh} {label}" if label and label.casefold() != term.zh.casefold() else term.zh


def short_sector(name: str) -> str:
    """The sector name without its parenthesised examples, to keep the gist to one line."""
    return re.sub(r"\s*[(（].*?[)）]", "", name)


def kind_phrase_zh(measure: _Titled) -> str:
    """The kind in Chinese with its relation and the measure terms of its title:
    「TBT通报补遗（技术法规草案）」; a recall is only 召回."""
    title_text = " ".join(x for x in (measure.title, measure.title_en) if x)
    kind = kind_label(measure.kind, "zh")
    measure_terms = [t.zh for t in load_glossary().find(title_text, categories=("measure",))]
    if measure.relation:
        kind += f"{relation_label(measure.relation, 'zh')}"
    if measure_terms and measure.kind != "recall":
        kind += f"（{''.join(measure_terms[:2])}）" if len(measure_terms) > 1 else f"（{measure_terms[0]}）"
    return kind


def gist_zh(measure: _Measure, tags: Iterable[_Tag] = (), *, today: dt.date | None = None) -> str:
    """One line in Chinese saying what ``measure`` is about, e.g.
    「俄罗斯 · 玩具 · TBT通报（技术法规草案） · 涉及：邻苯二甲酸酯 phthalate · 评议截止 2026-02-01（剩 23 天）」."""
    today = today or dt.datetime.now(dt.UTC).date()
    glossary = load_glossary()
    parts: list[str] = [country_label(measure.country, "zh")]

    sector_codes = [t.sector for t in sorted(tags, key=lambda t: -t.score)]
    sectors = list(dict.fromkeys(short_sector(sector_label(code, "zh")) for code in sector_codes))[:3]
    title_text = " ".join(x for x in (measure.title, measure.title_en) if x)
    field_text = " ".join(x for x in (measure.product_type, measure.category) if x)
    if sectors:
        parts.append("、".join(sectors))
    else:
        products = glossary.find(f"{title_text} {field_text}", categories=("product",))
        if products:
            sectors = [t.zh for t in products[:3]]
            parts.append("、".join(sectors))

    kind = kind_phrase_zh(measure)
    parts.append(kind)

    if measure.kind == "recall":
        hazards = glossary.find(" ".join(x for x in (measure.risk_type, measure.hazard) if x), categories=("hazard",))
        risk = glossary.find(measure.risk_level, categories=("risk_level",))
        if hazards or risk:
            parts.append("风险：" + "、".join([t.zh for t in hazards[:4]] + [t.zh for t in risk[:1]]))
        if measure.country_of_origin:
            parts.append(f"原产地：{country_label(measure.country_of_origin, 'zh')}")

    shown = set(sectors) | {kind}
    glossed: list[str] = []
    for term in glossary.find(title_text, categories=("hazard", "product", "term")):
        gloss = _gloss(term, title_text, measure.language)
        if term.zh not in shown and gloss not in glossed:
            glossed.append(gloss)
    if glossed:
        parts.append("涉及：" + "、".join(glossed[:MAX_GLOSSES]))

    dates: Sequence[str] = [
        deadline_zh(measure.comment_deadline, today),
        f"生效 {measure.entry_into_force.isoformat()}" if measure.entry_into_force else "",
    ]
    if not any(dates):
        first = measure.distributed_on or measure.published_on
        dates = [f"发布 {first.isoformat()}"] if first else []
    parts.extend(d for d in dates if d)
    return SEP.join(parts)
