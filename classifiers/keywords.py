"""Multilingual keyword rules per sector, from the ``keywords`` lists of ``sectors.yml``.

They serve twice: as the keyword baseline of the evaluation, and as the text tagger of
the explicit no-encoder mode. Matching is per script: Chinese by substring, Russian
keywords are word stems, German allows compounds, the other Latin-script languages
match whole words with common plural endings.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from classifiers.taxonomy import Taxonomy


def _pattern(keyword: str, language: str) -> str:
    kw = keyword.strip().lower()
    if language == "zh":
        return re.escape(kw)
    if language == "ru":
        return r"\s+".join(r"\b" + re.escape(word) + r"\w*" for word in kw.split())
    if language == "de" and len(kw) >= 5:
        return re.escape(kw) + r"\w*"  # German compounds: "Kinderspielzeug" contains "spielzeug"
    return r"\b" + re.escape(kw) + r"(?:s|es|x|e|en|n)?\b"


@functools.lru_cache(maxsize=16384)
def _literal(keyword: str) -> str:
    """A substring every match of the keyword's pattern contains (its first word)."""
    words = keyword.strip().lower().split()
    return words[0] if words else ""


@dataclass(frozen=True)
class KeywordRules:
    """Compiled keyword patterns: sector -> list of (keyword, regex)."""

    patterns: dict[str, list[tuple[str, re.Pattern[str]]]]

    def matches(self, text: str) -> dict[str, list[str]]:
        """Sector -> the keywords found in ``text`` (sectors without a hit are left out)."""
        lowered = text.lower()
        found: dict[str, list[str]] = {}
        for sector, patterns in self.patterns.items():
            # A plain substring test first: it rules out almost every keyword at C speed,
            # so the regex runs only where the keyword's first word occurs.
            hits = list(dict.fromkeys(kw for kw, rx in patterns if _literal(kw) in lowered and rx.search(lowered)))
            if hits:
                found[sector] = hits
        return found

    def features(self, text: str, sectors: list[str], cap: int = 3) -> list[float]:
        """Per sector of ``sectors``: distinct keywords found, capped at ``cap``, scaled to 0..1."""
        found = self.matches(text)
        return [min(len(found.get(s, ())), cap) / cap for s in sectors]


def keyword_rules(taxonomy: Taxonomy) -> KeywordRules:
    """Compile the keyword lists of ``taxonomy`` (build once, reuse for many texts)."""
    patterns: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for sector in taxonomy.sectors:
        compiled = []
        for language, words in sector.keywords.items():
            for word in words:
                compiled.append((word, re.compile(_pattern(word, language))))
        patterns[sector.code] = compiled
    return KeywordRules(patterns)
