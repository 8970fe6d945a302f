"""The Zhejiang export-sector taxonomy (``classifiers/sectors.yml``) and its HS/ICS lookups.

Other stages call :func:`load_taxonomy` and then ``.sectors``, ``.sector(code)``,
``.sectors_for_hs(code)`` and ``.sectors_for_ics(code)``. HS and ICS codes resolve by
the most specific prefix listed in the YAML (see the comment at its top).
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tbt_alert.errors import ClassifierError

TAXONOMY_PATH = Path(__file__).with_name("sectors.yml")
KEYWORD_LANGUAGES = ("en", "zh", "fr", "de", "es", "ru", "ja", "ko", "ar", "vi", "pt", "it", "pl", "tr")
CROSS_SECTOR = "cross_sector"
# The sector of a record that has no sector tag; never a code of the taxonomy.
UNTAGGED = "untagged"

_HS_RE = re.compile(r"^\s*(\d{2}(?:[.\s]?\d{2}){0,4})(?!\d)")
_ICS_RE = re.compile(r"^\s*(\d{2}(?:\.\d{3}(?:\.\d{2})?)?)(?![\d.]*\d)")


def normalise_hs(code: object) -> str | None:
    """Digits of an HS code (2-6 of them; national lines are cut to the subheading), or None.

    Accepts the forms sources use: ``8507``, ``8507.60``, ``850760 - Lithium-ion ...``.
    """
    if not isinstance(code, str | int):
        return None
    match = _HS_RE.match(str(code))
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(1))
    if len(digits) % 2 or not 2 <= len(digits) <= 10:
        return None
    return digits[:6]


def normalise_ics(code: object) -> str | None:
    """An ICS code as ``NN``, ``NN.NNN`` or ``NN.NNN.NN`` (text after it is ignored), or None."""
    if not isinstance(code, str):
        return None
    match = _ICS_RE.match(code)
    return match.group(1) if match else None


class Sector(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z_]+$")
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    hs: tuple[str, ...] = ()
    ics: tuple[str, ...] = ()
    keywords: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("hs")
    @classmethod
    def _hs_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", code):
                raise ValueError(f"HS code {code!r} must have 2, 4 or 6 digits")
        return value

    @field_validator("ics")
    @classmethod
    def _ics_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if normalise_ics(code) != code:
                raise ValueError(f"ICS code {code!r} must look like NN, NN.NNN or NN.NNN.NN")
        return value

    @field_validator("keywords")
    @classmethod
    def _languages(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = set(value) - set(KEYWORD_LANGUAGES)
        if unknown:
            raise ValueError(f"keyword languages {sorted(unknown)} are not among {KEYWORD_LANGUAGES}")
        return value

    def description(self, language: str = "en") -> str:
        return self.description_zh if language == "zh" else self.description_en

    def name(self, language: str = "en") -> str:
        return self.name_zh if language == "zh" else self.name_en


class Taxonomy(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int
    sectors: tuple[Sector, ...]
    out_of_scope_hs: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_codes(self) -> Taxonomy:
        codes = [s.code for s in self.sectors]
        duplicates = {c for c in codes if codes.count(c) > 1}
        if duplicates:
            raise ValueError(f"sector codes {sorted(duplicates)} appear twice")
        return self

    @cached_property
    def codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.sectors)

    @cached_property
    def _by_code(self) -> dict[str, Sector]:
        return {s.code: s for s in self.sectors}

    @cached_property
    def _hs_index(self) -> dict[str, list[Sector]]:
        index: dict[str, list[Sector]] = {}
        for sector in self.sectors:
            for prefix in sector.hs:
                index.setdefault(prefix, []).append(sector)
        return index

    @cached_property
    def _ics_index(self) -> dict[str, list[Sector]]:
        index: dict[str, list[Sector]] = {}
        for sector in self.sectors:
            for prefix in sector.ics:
                index.setdefault(prefix, []).append(sector)
        return index

    def sector(self, code: str) -> Sector:
        try:
            return self._by_code[code]
        except KeyError:
            raise ClassifierError(f"unknown sector {code!r}; use one of {', '.join(self.codes)}.") from None

    def sectors_for_hs(self, code: object) -> list[tuple[Sector, str]]:
        """Sectors of an HS code with the prefix that matched; [] when unknown, out of scope or invalid."""
        digits = normalise_hs(code)
        if digits is None:
            return []
        for length in (6, 4, 2):
            prefix = digits[:length]
            if len(prefix) == length and prefix in self._hs_index:
                return [(s, prefix) for s in self._hs_index[prefix]]
        return []

    def sectors_for_ics(self, code: object) -> list[tuple[Sector, str]]:
        """Sectors of an ICS code with the prefix that matched; [] when unknown or invalid."""
        ics = normalise_ics(code)
        if ics is None:
            return []
        parts = ics.split(".")
        for n in range(len(parts), 0, -1):
            prefix = ".".join(parts[:n])
            if prefix in self._ics_index:
                return [(s, prefix) for s in self._ics_index[prefix]]
        return []

    def is_out_of_scope_hs(self, code: object) -> bool:
        digits = normalise_hs(code)
        return digits is not None and digits[:2] in self.out_of_scope_hs and not self.sectors_for_hs(digits)


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy from ``sectors.yml`` (validated; cached per path)."""
    return _load(str(path or TAXONOMY_PATH))


@lru_cache(maxsize=4)
def _load(path: str) -> Taxonomy:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Taxonomy.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ClassifierError(f"the sector taxonomy {path} is invalid ({exc}); fix the YAML.") from exc
