"""The one normalised item every spider yields, whatever the kind of measure.

Field names are those of :class:`schema.models.Measure`, so an item maps to a row
without renaming. Parsers build items; validation here rejects what would corrupt
the database (bad country codes, HS codes that are not digits, impossible dates).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crawlers.urls import link_problem

MeasureKind = Literal["tbt_notification", "sps_notification", "regulation", "standard", "recall"]
FollowUpRelation = Literal["addendum", "corrigendum", "revision", "supplement", "update"]

# PostgreSQL stores no NUL in text or jsonb, and a lone surrogate cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_HS = re.compile(r"^\d{2,10}$")
_ICS = re.compile(r"^\d{2}(\.\d{3}(\.\d{2})?)?$")
_ALPHA3 = re.compile(r"^[A-Z]{3}$")


class MeasureItem(BaseModel):
    """A measure as read from a source, normalised; ``raw_payload`` is exactly as received."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source_id: str = Field(min_length=1)
    source_key: str = Field(min_length=1)  # the source's own id: symbol, case number, recall number
    kind: MeasureKind
    title: str = Field(min_length=1)
    title_en: str | None = None
    description: str | None = None
    products: str | None = None
    country: str | None = None  # notifying/issuing member, ISO 3166 alpha-3 (EUR for the EU)
    document_symbol: str | None = None
    parent_key: str | None = None  # source_key of the measure this one follows up
    relation: FollowUpRelation | None = None
    hs_codes: list[str] = Field(default_factory=list)
    ics_codes: list[str] = Field(default_factory=list)
    objectives: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    language: str | None = None  # ISO 639-1
    distributed_on: dt.date | None = None
    published_on: dt.date | None = None
    comment_deadline: dt.date | None = None
    adopted_on: dt.date | None = None
    entry_into_force: dt.date | None = None
    url: str | None = None
    documents: dict[str, str] = Field(default_factory=dict)  # language -> URL
    category: str | None = None
    product_type: str | None = None
    brand: str | None = None
    risk_type: str | None = None
    risk_level: str | None = None
    hazard: str | None = None
    measures_taken: str | None = None
    country_of_origin: str | None = None  # ISO alpha-3; None = unknown, never guessed
    extra: dict[str, Any] = Field(default_factory=dict)
    raw_payload: str

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Before the type checks, so a lone surrogate is named as such, not as "not a string".
        problem = unstorable_text(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("country", "country_of_origin")
    @classmethod
    def _alpha3(cls, value: str | None) -> str | None:
        if value is not None and not _ALPHA3.match(value):
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-3 code")
        return value

    @field_validator("hs_codes")
    @classmethod
    def _hs(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not _HS.match(c)]
        if bad:
            raise ValueError(f"HS codes must be 2-10 digits, got {bad}")
        return list(dict.fromkeys(value))

    @field_validator("ics_codes")
    @classmethod
    def _ics(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not _ICS.match(c)]
        if bad:
            raise ValueError(f"ICS codes must look like 13 or 13.220 or 13.220.40, got {bad}")
        return list(dict.fromkeys(value))

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # Mails put it in an href: javascript: or data: would reach every subscriber.
        problem = link_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("documents")
    @classmethod
    def _web_documents(cls, value: dict[str, str]) -> dict[str, str]:
        for language, url in value.items():
            problem = link_problem(url)
            if problem:
                raise ValueError(f"the {language!r} document: {problem}")
        return value

    def link_problems(self) -> list[tuple[str, str]]:
        """(field, reason) for each link that is not http(s), e.g. after ``model_copy(update=...)``."""
        problems = []
        url_problem = link_problem(self.url) if self.url is not None else None
        if url_problem:
            problems.append(("url", f"url: {url_problem}"))
        for language, url in self.documents.items():
            problem = link_problem(url)
            if problem:
                problems.append(("documents", f"documents: the {language!r} document: {problem}"))
        return problems

    def text_problems(self) -> list[tuple[str, str]]:
        """(field, reason) for each field holding text the database cannot store."""
        problems = []
        for name in type(self).model_fields:
            problem = unstorable_text(getattr(self, name))
            if problem:
                problems.append((name, f"{name}: {problem}"))
        return problems

    def to_record(self) -> dict[str, Any]:
        """Measure column values (``parent_key`` is resolved by the storing pipeline)."""
        record = self.model_dump(exclude={"parent_key"})
        return record


def unstorable_text(value: Any) -> str | None:
    """Why ``value`` (text, or lists and mappings of it, keys too) cannot be stored, or None."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return None
        char = found.group()
        what = "NUL" if char == "\x00" else "a lone surrogate"
        return (
            f"the text holds U+{ord(char):04X} ({what}) at character {found.start()}, which PostgreSQL cannot "
            "store; the record is quarantined - check the source's data"
        )
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set):
        for element in value:
            problem = unstorable_text(element)
            if problem:
                return problem
    return None


def storable(text: str) -> str:
    """``text`` with each character PostgreSQL refuses written as a visible ``\\uXXXX`` escape."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@dataclass
class Rejected:
    """A record the parser could not accept: quarantined with the reason, never dropped."""

    source_id: str
    record_key: str | None
    field: str | None
    reason: str
    raw_payload: str


@dataclass
class ParseResult:
    """What a pure parser makes of one response: items, rejects, and further pages to fetch."""

    items: list[MeasureItem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    follow: list[str] = field(default_factory=list)  # absolute URLs of further pages

    def add(self, outcome: MeasureItem | Rejected) -> None:
        """File what ``build`` made of one record: an item, or a reject for quarantine."""
        if isinstance(outcome, Rejected):
            self.rejected.append(outcome)
        else:
            self.items.append(outcome)
