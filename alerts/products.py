"""The product line of a measure: what the foreign item is, named in the reader's language with its
HS subheading, so a Chinese reader knows at a glance what a recall or regulation is about.

From the source's own codes first (its first code of six digits or more that the HS name table
knows, stated as fact); where the source lists none, from the classifier's best suggestion,
marked as suggested (推测). A source whose codes are too short to name (a heading, a chapter) takes
the best suggestion that falls under one of them, still marked as suggested: a suggestion never
contradicts, or passes for, the source. The bulletins and the portal's measure page share it.

A suggestion names the product only from the score at which it may answer an HS subscription
(``classifiers.hs_threshold.suggestion_threshold``): below it the guess is too often wrong (a
baby's rattle read as activated clay), and a wrong name at a glance misleads more than none.
The measure page still lists every suggestion with its score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from classifiers.hs_catalogue import dotted, hs_name


class Suggested(Protocol):
    """A suggested HS code as the database row (SuggestedHsCode) or its detached view carry it."""

    @property
    def code(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...


@dataclass(frozen=True)
class ProductLine:
    """The product's name in one language, its subheading written 8516.71, and whether it is a guess."""

    name: str
    code: str  # dotted: 8516.71
    suggested: bool
    score: float | None = None  # the suggestion's score; None for a source's code


def _digits(code: object) -> str:
    return "".join(ch for ch in str(code) if ch.isdigit())


def _suggested_name(suggestion: Suggested, lang: str) -> str:
    stored = suggestion.name_zh if lang == "zh" else suggestion.name_en
    if stored:
        return stored
    # Rows written before the name table knew the code: name it from the table now.
    name = hs_name(suggestion.code)
    if name is None:
        return ""
    return name.name_zh if lang == "zh" else name.name_en


def product_line(
    hs_codes: Iterable[object], suggestions: Sequence[Suggested], lang: str, *, min_score: float | None = None
) -> ProductLine | None:
    """The product line in ``lang`` (zh or en); None when neither the source's codes nor a
    suggestion scoring at least ``min_score`` (None: any) give a name in that language (a
    Chinese page shows no English name instead)."""
    declared = [_digits(c) for c in hs_codes if _digits(c)]
    for code in declared:
        name = hs_name(code)
        text = (name.name_zh if lang == "zh" else name.name_en) if name is not None else ""
        if name is not None and text:
            return ProductLine(text, name.dotted, suggested=False)
    if declared:
        # Only short codes (9503, 85): a suggestion under one of them may name the product.
        suggestions = [s for s in suggestions if any(_digits(s.code).startswith(c) for c in declared)]
    if min_score is not None:
        suggestions = [s for s in suggestions if float(s.score) >= min_score]
    for suggestion in suggestions[:1]:
        text = _suggested_name(suggestion, lang)
        if text:
            return ProductLine(text, dotted(suggestion.code), suggested=True, score=float(suggestion.score))
    return None


def product_text(line: ProductLine | None, words: Mapping[str, str]) -> str | None:
    """「中文品名（推测）：电咖啡壶或茶壶 · HS 8516.71」 from the reader's words (a mail's or the
    portal's message table: both have ``product`` and ``product_suggested``); None without a line."""
    if line is None:
        return None
    template = words["product_suggested"] if line.suggested else words["product"]
    return template.format(name=line.name, code=line.code)
