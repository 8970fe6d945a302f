"""Chemical hazards: restricted substances and chemical limits named in a record.

The labelling guide (``../shared/TAXONOMY.md``): "chemical limits in a named product: also
that product's sector" — and so a doll recalled for phthalates is a toys matter *and* a
chemicals_plastics one. One rule, in ``labelling.yml`` (``chemical_hazard``), serves the
training labels (``classifiers.training_data``) and the tags (``Classifier.classify``), so the
classifier says what the labels say.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tbt_alert.errors import ClassifierError

LABELLING_PATH = Path(__file__).with_name("labelling.yml")


@dataclass(frozen=True)
class ChemicalHazards:
    pattern: re.Pattern[str]
    risk_types: frozenset[str]  # a source's own risk type that is chemical by definition
    adds: tuple[str, ...]  # the sectors a chemical hazard adds
    not_for: frozenset[str]  # products whose own rules are chemical rules (cosmetics, drugs, food)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> ChemicalHazards:
        return cls(
            re.compile(str(table["pattern"])),
            frozenset(str(r).lower() for r in table.get("safety_gate_risk_types", [])),
            tuple(table["adds"]),
            frozenset(table["not_for"]),
        )

    def terms(self, text: str) -> list[str]:
        """The restricted substances and limits ``text`` names, each once, in order."""
        return list(dict.fromkeys(m.group(0).strip() for m in self.pattern.finditer(text)))

    def chemical_risk(self, risk_type: str) -> bool:
        """Whether a source's risk type ("Chemical", "chemical; injuries") is chemical."""
        return bool({r.strip().lower() for r in re.split(r"[,;]", risk_type)} & self.risk_types)

    def applies_to(self, sectors: Iterable[str]) -> bool:
        """A chemical hazard adds its sectors unless the product's own rules are chemical rules."""
        return not set(sectors) & self.not_for


@functools.lru_cache(maxsize=1)
def chemical_hazards() -> ChemicalHazards:
    """The rule of ``labelling.yml`` (read once per process)."""
    data = yaml.safe_load(LABELLING_PATH.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "chemical_hazard" not in data:
        raise ClassifierError(f"{LABELLING_PATH} has no chemical_hazard table; restore it from git.")
    return ChemicalHazards.from_table(data["chemical_hazard"])
