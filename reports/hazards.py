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

from pipeline.errors import TbtError

VOCABULARY_FILE = Path(__file__).resolve().parent / "data" / "hazards.yml"
OTHER = "other"


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

    def by_code(self, code: str) -> Hazard | None:
        return next((h for h in self.hazards if h.code == code), None)

    def name_zh(self, code: str) -> str:
        hazard = self.by_code(code)
        return hazard.name_zh if hazard else "其他"

    def name_en(self, code: str) -> str:
        hazard = self.by_code(code)
        return hazard.name_en if hazard else "Other"

    def classify(self, *texts: str | None) -> tuple[str, ...]:
        """Every hazard code whose pattern matches one of ``texts`` (each text also split at commas,
        because Safety Gate and Health Canada list several risk types in one field); a matched
        substance brings its group with it; nothing matched gives ``("other",)``."""
        parts: list[str] = []
        for text in texts:
            if text:
                stripped = text.strip()
                parts.append(stripped)
                if "," in stripped or " - " in stripped:
                    parts.extend(p.strip() for p in re.split(r",| - ", stripped) if p.strip())
        found: dict[str, None] = {}
        for hazard in self.hazards:
            if any(hazard.pattern.search(part) for part in parts):
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
            pattern = re.compile("|".join(f"(?:{p})" for p in entry["patterns"]), re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise TbtError(f"{path}: hazard {code!r} has an invalid pattern ({exc}); fix that expression.") from None
        hazards.append(Hazard(code, entry["name_zh"], entry["name_en"], entry.get("group"), pattern))
    for hazard in hazards:
        if hazard.group and hazard.group not in codes:
            raise TbtError(f"{path}: hazard {hazard.code!r} names unknown group {hazard.group!r}; define that group.")
    return HazardVocabulary(tuple(hazards))
