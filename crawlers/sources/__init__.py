"""Source definitions: one folder per source here, ``<id>/<id>.yml`` validated when loaded.

Each source folder holds everything about the source (see crawlers/README.md): the YAML,
its parser (``parser.py``), a ``spider.py`` only when navigation needs code, and the
recorded responses (``recorded/``) that replay crawls and the golden tests share.

A source's YAML says who publishes it, what kind of measures it carries, where to
fetch them (``base_urls``), how often, how many records a run should see, and the
value lookups its parser needs (category -> our terms, country names -> alpha-3).
Lookups are strict: a value the YAML does not list is an error naming the source
and the table, so a new category at the source is noticed instead of guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tbt_alert.errors import SourceConfigError, UnknownLookupValue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from schema.upsert import UpsertCounts

SOURCES_DIR = Path(__file__).resolve().parent

SourceKind = Literal["notification", "regulation", "standard", "recall"]


class SourceConfig(BaseModel):
    """What ``crawlers/sources/<id>/<id>.yml`` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    name: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    kind: SourceKind
    jurisdiction: str = Field(pattern=r"^[A-Z]{3}$")  # ISO alpha-3, or EUR (EU), WTO
    languages: list[str] = Field(min_length=1)  # ISO 639-1, the source's own languages
    homepage: str
    base_urls: dict[str, str] = Field(min_length=1)  # name -> URL the spider starts from
    schedule: str = "@daily"  # cron expression or @hourly/@daily/@weekly
    expected_min: int = Field(ge=0)  # records per ordinary run; outside = suspicious
    expected_max: int = Field(ge=1)
    lookups: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    enabled: bool = True
    verified: bool = True  # False: spider written from documentation, no real page seen
    spider: str | None = None  # spider name when it differs from id
    backfill_since: dt.date | None = None  # first date of a full crawl; None = all
    options: dict[str, Any] = Field(default_factory=dict)  # source-specific knobs
    notes: str | None = None

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if len(v) != 2 or not v.islower()]
        if bad:
            raise ValueError(f"languages must be ISO 639-1 codes like 'en', got {bad}")
        return value

    @field_validator("base_urls")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [u for u in value.values() if not u.startswith(("https://", "http://"))]
        if bad:
            raise ValueError(f"base_urls must be absolute http(s) URLs, got {bad}")
        return value

    @model_validator(mode="after")
    def _range(self) -> SourceConfig:
        if self.expected_min > self.expected_max:
            raise ValueError(f"expected_min {self.expected_min} is above expected_max {self.expected_max}")
        return self

    @property
    def spider_name(self) -> str:
        return self.spider or self.id

    def lookup(self, table: str, value: str) -> str | None:
        """``value`` mapped through lookup ``table``; unknown values raise UnknownLookupValue."""
        entries = self.lookups.get(table)
        if entries is None:
            raise UnknownLookupValue(self.id, table, value)
        key = " ".join(value.split())
        if key in entries:
            return entries[key]
        raise UnknownLookupValue(self.id, table, key)

    def has_lookup(self, table: str, value: str) -> bool:
        return " ".join(value.split()) in self.lookups.get(table, {})

    def is_suspicious(self, seen: int) -> bool:
        return not self.expected_min <= seen <= self.expected_max

    def source_row(self) -> dict[str, Any]:
        """The ``sources`` table row mirroring this YAML."""
        return {
            "id": self.id,
            "name": self.name,
            "publisher": self.publisher,
            "kind": self.kind,
            "jurisdiction": self.jurisdiction,
            "languages": list(self.languages),
            "homepage": self.homepage,
            "schedule": self.schedule,
            "enabled": self.enabled,
            "verified": self.verified,
            "expected_min": self.expected_min,
            "expected_max": self.expected_max,
        }


def load_source_file(path: Path) -> SourceConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"{path}: not valid YAML ({exc}); fix the file.") from None
    if not isinstance(data, Mapping):
        raise SourceConfigError(f"{path}: expected a mapping of source fields; fix the file.")
    try:
        config = SourceConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SourceConfigError(f"{path}: {problems}; fix the file.") from None
    if config.id != path.stem:
        raise SourceConfigError(f"{path}: id {config.id!r} differs from the file name; rename one of them.")
    return config


def source_dir(source_id: str, directory: Path | None = None) -> Path:
    """The folder of ``source_id`` (it may not exist)."""
    return (directory or SOURCES_DIR) / source_id


def source_yaml(source_id: str, directory: Path | None = None) -> Path:
    """Where the YAML of ``source_id`` lives: ``<sources>/<id>/<id>.yml``."""
    return source_dir(source_id, directory) / f"{source_id}.yml"


def load_sources(directory: Path | None = None) -> dict[str, SourceConfig]:
    """Every source in ``directory`` (default: this package), by id: each ``<id>/<id>.yml``."""
    folder = directory or SOURCES_DIR
    paths = sorted(p for p in folder.glob("*/*.yml") if p.stem == p.parent.name)
    return {path.stem: load_source_file(path) for path in paths}


def load_source(source_id: str, directory: Path | None = None) -> SourceConfig:
    path = source_yaml(source_id, directory)
    if not path.exists():
        known = ", ".join(sorted(load_sources(directory))) or "none"
        raise SourceConfigError(
            f"unknown source {source_id!r}; known sources: {known}. "
            f"A new source needs {path} (`tbt-alert sources new {source_id}` writes a skeleton)."
        )
    return load_source_file(path)


def sync_sources(session: Session, configs: Iterable[SourceConfig]) -> UpsertCounts:
    """Mirror the YAML into the ``sources`` table (insert new, update changed)."""
    from schema.models import Source
    from schema.upsert import upsert

    return upsert(session, Source, [c.source_row() for c in configs])
