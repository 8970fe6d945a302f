"""Normalise a recall's free-text risk type and hazard into the report's hazard vocabulary.

The vocabulary (codes, zh/en names, multilingual patterns) lives in ``reports/data/hazards.yml``
so analysts can extend it without touching code.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tbt_alert.errors import TbtError

VOCABULARY_FILE = Path(__file__).resolve().parent / "data" / "hazards.yml"
OTHER = "other"
_FIELD_SEPARATORS = re.compile(r",| - ")
_FLAGS = re.IGNORECASE | re.MULTILINE


@dataclass(frozen=True)
class Hazard:
    code: str
    name_zh: str
    name_en: str
    group: str | None
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class HazardVocabulary:
    hazards: tuple[Hazard, ...]
    # All patterns in one alternation inside a lookahead, one named group per hazard: a single
    # scan of the text finds every hazard, also where matches overlap (a plain alternation
    # would resume after each match). 65,000 recalls x 30 hazards x a separate search each
    # took ~50 s on the benchmark. A pattern must match from the start of a word (or at a CJK
    # character): "phthala" finds "phthalate" and "Phthalat", not "diisononylphthalate".
    scanner: re.Pattern[str]

    def by_code(self, code: str) -> Hazard | None:
        return next((h for h in self.hazards if h.code == code), None)

    def name_zh(self, code: str) -> str:
        hazard = self.by_code(code)
        return hazard.name_zh if hazard else "其他"

    def name_en(self, code: str) -> str:
        hazard = self.by_code(code)
        return hazard.name_en if hazard else "Other"

    def classify(self, *texts: str | None) -> tuple[str, ...]:
        """Every hazard code whose pattern matches one of ``texts``; a matched substance brings its
        group with it; nothing matched gives ``("other",)``. Short fields are also split at commas
        (one line each, so ``^...$`` patterns can match them), because Safety Gate and Health
        Canada list several risk types in one field ("Chemical, Choking")."""
        lines: list[str] = []
        for text in texts:
            if text:
                stripped = text.strip()
                lines.append(stripped)
                if len(stripped) < 200 and ("," in stripped or " - " in stripped):
                    lines.extend(p.strip() for p in _FIELD_SEPARATORS.split(stripped) if p.strip())
        if not lines:
            return (OTHER,)
        matched = {m.lastgroup for m in self.scanner.finditer("\n".join(lines))}
        found: dict[str, None] = {}
        for index, hazard in enumerate(self.hazards):
            if f"h{index}" in matched:
                if hazard.group:
                    found[hazard.group] = None
                found[hazard.code] = None
        return tuple(found) if found else (OTHER,)


@functools.cache
def load_vocabulary(path: Path = VOCABULARY_FILE) -> HazardVocabulary:
    """Read and compile the hazard vocabulary; a bad pattern names the hazard to fix."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    hazards: list[Hazard] = []
    codes: set[str] = set()
    for entry in data["hazards"]:
        code = entry["code"]
        if code in codes or code == OTHER:
            raise TbtError(f"{path}: hazard code {code!r} appears twice or is reserved; give it a unique code.")
        codes.add(code)
        try:
            pattern = re.compile("|".join(f"(?:{p})" for p in entry["patterns"]), _FLAGS)
        except re.error as exc:
            raise TbtError(f"{path}: hazard {code!r} has an invalid pattern ({exc}); fix that expression.") from None
        hazards.append(Hazard(code, entry["name_zh"], entry["name_en"], entry.get("group"), pattern))
    for hazard in hazards:
        if hazard.group and hazard.group not in codes:
            raise TbtError(f"{path}: hazard {hazard.code!r} names unknown group {hazard.group!r}; define that group.")
    # Patterns are tried only where a word starts (not after a letter) or at a CJK character:
    # mid-word positions are most of a text and can never begin a match of a word pattern.
    alternatives = "|".join(f"(?P<h{i}>{h.pattern.pattern})" for i, h in enumerate(hazards))
    scanner = re.compile(f"(?:(?<![^\\W\\d_])|(?=[\u3400-\u9fff]))(?=(?:{alternatives}))", _FLAGS)
    return HazardVocabulary(tuple(hazards), scanner)
