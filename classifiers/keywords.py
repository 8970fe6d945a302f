"""Multilingual keyword rules per sector, from the ``keywords`` lists of ``sectors.yml``.

They serve twice: as the keyword baseline of the evaluation, and as the text tagger of
the explicit no-encoder mode. Matching rules per language (see :func:`_pattern`):

* zh, ja, ko: substring (no spaces between words; Korean attaches particles to nouns).
* ru, pl, tr: keywords are word stems, each word matches ``\\b`` + stem + ``\\w*``
  (inflected and agglutinative languages). Turkish folds ``ı``/``i``/``i̇`` (the
  lower case of ``I`` and ``İ``), so "ISITICI" and "İlaç" still match.
* ar: each word may carry the clitic prefixes و/ف + ال/بال/لال/كال/لل/ب/ل/ك and any
  suffix (plural and feminine endings); alef forms ا/أ/إ/آ are folded. Write stems
  (لعب، كابل), list broken plurals separately (ألعاب).
* de: compounds (``spielzeug`` in "Kinderspielzeug") for keywords of 5+ letters.
* it, pt: whole words written in the singular; every word also matches its plural
  (it: o→i, a→e, e→i, co/go→chi/ghi, ca/ga→che/ghe; pt: +s, +es, ão→ões/ães/ãos,
  m→ns, al/el/ol/ul/il→ais/éis/óis/uis/is).
* vi: whole words (syllables separated by spaces), no plural endings.
* en, fr, es: whole words with common plural endings.

Every keyword also has a *literal*: a substring that every match of its pattern
contains. ``KeywordRules.matches`` finds the literals present in a text through an
index of their first two characters, so only the few candidate regexes run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from classifiers.taxonomy import Taxonomy

# KeywordRules finds the literals a text holds by their first PREFIX characters: with four, a
# text of ~100 characters checks ~40 literals (with two, ~800).
PREFIX = 4
_TR_I = "(?:ı|i\u0307?)"  # Turkish ı, i, and "i̇" (str.lower of İ)
_AR_ALEF = "[اأإآ]"
_AR_CLITICS = "(?<!\\w)(?:[وف]?(?:[بلك]?ال|لل|[بلك])?)"
_IT_ENDINGS = {"o": "(?:o|i)", "a": "(?:a|e)", "e": "(?:e|i)", "i": "i"}
_IT_HARD = {"co": "(?:co|chi|ci)", "go": "(?:go|ghi|gi)", "ca": "(?:ca|che)", "ga": "(?:ga|ghe)"}
_PT_ENDINGS = {
    "ão": "(?:ão|ões|ães|ãos)",
    "al": "(?:al|ais)",
    "el": "(?:el|éis|eis)",
    "ol": "(?:ol|óis|ois)",
    "ul": "(?:ul|uis)",
    "il": "(?:il|is|eis)",
    "m": "(?:m|ns)",
}


def _split_ending(word: str, language: str) -> tuple[str, str]:
    """(fixed stem, regex of the endings) of one word of an Italian or Portuguese keyword."""
    if language == "it":
        for end, rx in _IT_HARD.items():
            if word.endswith(end) and len(word) > 3:
                return word[: -len(end)], rx
        if len(word) > 2 and word[-1] in _IT_ENDINGS:
            return word[:-1], _IT_ENDINGS[word[-1]]
        return word, "s?"  # loanwords (led, tablet, computer) are invariable or take -s
    for end, rx in _PT_ENDINGS.items():
        if word.endswith(end) and len(word) > len(end) + 1:
            return word[: -len(end)], rx
    return word, "(?:s|es)?"


def _pattern(keyword: str, language: str) -> str:
    kw = keyword.strip().lower()
    words = kw.split()
    if language in ("zh", "ja", "ko"):
        return re.escape(kw)
    if language in ("ru", "pl"):
        return r"\s+".join(r"\b" + re.escape(word) + r"\w*" for word in words)
    if language == "tr":
        return r"\s+".join(r"\b" + re.sub("[ıi]", lambda _: _TR_I, re.escape(word)) + r"\w*" for word in words)
    if language == "ar":
        stems = (re.sub("[اأإآ]", lambda _: _AR_ALEF, re.escape(word)) for word in words)
        return r"\s+".join(_AR_CLITICS + stem + r"\w*" for stem in stems)
    if language in ("it", "pt"):
        parts = (_split_ending(word, language) for word in words)
        return r"\s+".join(r"\b" + re.escape(stem) + ending + r"\b" for stem, ending in parts)
    if language == "vi":
        return r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)"
    if language == "de" and len(kw) >= 5:
        return re.escape(kw) + r"\w*"  # German compounds: "Kinderspielzeug" contains "spielzeug"
    return r"\b" + re.escape(kw) + r"(?:s|es|x|e|en|n)?\b"


def _longest_piece(word: str, separators: str) -> str:
    pieces = re.split(f"[{separators}]", word)
    return max(pieces, key=len)


def _literal(keyword: str, language: str = "en") -> str:
    """A substring every match of the keyword's pattern contains (part of its first word)."""
    words = keyword.strip().lower().split()
    if not words:
        return ""
    first = words[0]
    if language == "tr":
        return _longest_piece(first, "ıi")
    if language == "ar":
        return _longest_piece(first, "اأإآ")
    if language in ("it", "pt"):
        return _split_ending(first, language)[0]
    return first


@dataclass(frozen=True)
class KeywordRules:
    """Compiled keyword patterns: sector -> list of (keyword, regex).

    ``literals`` maps a regex's source to a substring every match of it contains (the
    first word of the keyword where it is missing).
    """

    patterns: dict[str, list[tuple[str, re.Pattern[str]]]]
    literals: dict[str, str] = field(default_factory=dict)
    # first PREFIX characters of a literal (all of a shorter one) -> [(literal, [(sector no, keyword no)])]
    _index: dict[str, list[tuple[str, list[tuple[int, int]]]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _sectors: list[str] = field(init=False, repr=False, compare=False, default_factory=list)

    def __post_init__(self) -> None:
        by_literal: dict[str, list[tuple[int, int]]] = {}
        for s, patterns in enumerate(self.patterns.values()):
            for k, (kw, rx) in enumerate(patterns):
                literal = self.literals.get(rx.pattern)
                if literal is None:
                    words = kw.strip().lower().split()
                    literal = words[0] if words else ""
                by_literal.setdefault(literal, []).append((s, k))
        for literal, entries in by_literal.items():
            self._index.setdefault(literal[:PREFIX], []).append((literal, entries))
        self._sectors.extend(self.patterns)

    def matches(self, text: str) -> dict[str, list[str]]:
        """Sector -> the keywords found in ``text`` (sectors without a hit are left out)."""
        lowered = text.lower()
        # The literals present, found through their first PREFIX characters (a set
        # intersection in C); only their keywords' regexes run.
        grams = {""}
        for n in range(1, PREFIX + 1):
            grams.update([lowered[i : i + n] for i in range(len(lowered) - n + 1)])
        candidates: list[tuple[int, int]] = []
        index = self._index
        for gram in grams.intersection(index):
            for literal, entries in index[gram]:
                if literal in lowered:
                    candidates.extend(entries)
        if not candidates:
            return {}
        candidates.sort()
        found: dict[str, list[str]] = {}
        patterns = list(self.patterns.values())
        for s, k in candidates:
            kw, rx = patterns[s][k]
            if rx.search(lowered):
                hits = found.setdefault(self._sectors[s], [])
                if kw not in hits:
                    hits.append(kw)
        return found

    def features(self, text: str, sectors: list[str], cap: int = 3) -> list[float]:
        """Per sector of ``sectors``: distinct keywords found, capped at ``cap``, scaled to 0..1."""
        found = self.matches(text)
        return [min(len(found.get(s, ())), cap) / cap for s in sectors]


def keyword_rules(taxonomy: Taxonomy) -> KeywordRules:
    """Compile the keyword lists of ``taxonomy`` (build once, reuse for many texts)."""
    patterns: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    literals: dict[str, str] = {}
    for sector in taxonomy.sectors:
        compiled = []
        for language, words in sector.keywords.items():
            for word in words:
                rx = re.compile(_pattern(word, language))
                literal = _literal(word, language)
                if literals.get(rx.pattern, literal) != literal:
                    literal = ""  # one regex, two literals (cannot happen today): no pre-filter
                literals[rx.pattern] = literal
                compiled.append((word, rx))
        patterns[sector.code] = compiled
    return KeywordRules(patterns, literals)
