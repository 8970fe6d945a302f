"""A source's recorded responses: ``crawlers/sources/<id>/recorded/``, one copy of each body.

The same folder serves the offline replay (``exchanges.json``, see :mod:`crawlers.replay`)
and the golden parser tests (``meta.json`` cases -> ``expected/<name>.json``). Its
``meta.json`` says where every body came from and whether we constructed it; one schema,
:class:`RecordedMeta`, validates it::

    {"source": "<id>",
     "constructed": false,              # true when any body was built or cut by us
     "why": "...",                      # what was recorded or constructed, and why
     "provenance": ["owner/repo@commit:path (via ...)"],
     "captured": "2026-03-05" | null,   # when the bodies were served (free text: ranges happen)
     "to_be_recorded": false,           # true only in a fresh `tbt-alert sources new` skeleton
     "replay": {"why": "...", "records": 5, "files": {"<body>": {url, captured, constructed, why, provenance}}},
     "cases": [{"name", "url", "body", "expected", "constructed", "captured"?, "why"?}]}

``construct.py`` scripts (for constructed pages) write their bodies here with
:func:`write_recorded`; the HTML-table ones share :func:`table_page`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crawlers.sources import source_dir
from tbt_alert.errors import SourceConfigError

META = "meta.json"
EXCHANGES = "exchanges.json"


class RecordedFile(BaseModel):
    """Provenance of one body that only the replay serves (no golden case reads it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    captured: str | None = None
    constructed: bool = False
    why: str | None = None
    provenance: str | None = None


class ReplayNote(BaseModel):
    """What the replay snapshot serves beyond the cases, and how many records a replay crawl sees."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    why: str | None = None
    records: int | None = Field(default=None, ge=0)
    files: dict[str, RecordedFile] = Field(default_factory=dict)


class RecordedCase(BaseModel):
    """One golden case: ``body`` parsed as if served from ``url`` gives ``expected``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    url: str = Field(pattern=r"^https?://")
    body: str = Field(min_length=1)  # file name in recorded/
    expected: str = Field(pattern=r"^expected/[A-Za-z0-9_.-]+\.json$")
    constructed: bool
    captured: str | None = None
    why: str | None = None


class RecordedMeta(BaseModel):
    """The schema of every ``recorded/meta.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    constructed: bool
    why: str | None = None
    provenance: list[str] = Field(default_factory=list)
    captured: str | None = None
    to_be_recorded: bool = False
    replay: ReplayNote = Field(default_factory=ReplayNote)
    cases: list[RecordedCase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _honest(self) -> RecordedMeta:
        if self.to_be_recorded:
            return self
        if not self.cases:
            raise ValueError("no cases: record a response and add a case (or mark to_be_recorded)")
        if not self.provenance:
            raise ValueError("no provenance: say where the recorded bodies came from")
        constructed = any(c.constructed for c in self.cases) or any(f.constructed for f in self.replay.files.values())
        if constructed and not self.constructed:
            raise ValueError("a case or file is constructed, so the folder must say constructed: true")
        if self.constructed and not (self.why or any(c.why for c in self.cases)):
            raise ValueError("constructed: true needs a 'why' saying what was constructed and from what")
        names = [c.name for c in self.cases]
        if len(names) != len(set(names)):
            raise ValueError(f"case names repeat: {sorted(names)}")
        return self


def recorded_dir(source_id: str, sources: Path | None = None) -> Path:
    """``crawlers/sources/<id>/recorded``."""
    return source_dir(source_id, sources) / "recorded"


def load_meta(source_id: str, sources: Path | None = None) -> RecordedMeta:
    """The validated ``recorded/meta.json`` of ``source_id``; SourceConfigError names what to fix."""
    path = recorded_dir(source_id, sources) / META
    try:
        meta = RecordedMeta.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        else:
            problems = str(exc)
        raise SourceConfigError(f"{path}: {problems}; fix the file (schema: crawlers.recorded.RecordedMeta).") from None
    if meta.source != source_id:
        raise SourceConfigError(f"{path}: source {meta.source!r} differs from the folder {source_id!r}; fix one.")
    return meta


def write_recorded(source_folder: Path, name: str, text: str) -> Path:
    """Write a constructed body into ``<source_folder>/recorded/<name>`` (for construct.py scripts)."""
    target = source_folder / "recorded" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def table_page(
    *,
    lang: str,
    title: str,
    heading: str,
    columns: Sequence[str],
    rows: str,
    html_attrs: str = "",
    table_attrs: str = "",
) -> str:
    """The HTML shell of a constructed list page: one table with ``columns`` and ``rows`` (ready HTML).

    The markup is ours, not the publisher's (each construct.py says so); the attribute
    strings, when given, start with a space (`` dir="ltr"``).
    """
    headings = "\n".join(f"        <th>{column}</th>" for column in columns)
    return f"""<!DOCTYPE html>
<html lang="{lang}"{html_attrs}>
<head>
  <meta charset="utf-8">
  <title>{title}</title>
</head>
<body>
  <h1>{heading}</h1>
  <table{table_attrs}>
    <thead>
      <tr>
{headings}
      </tr>
    </thead>
    <tbody>
{rows}
    </tbody>
  </table>
</body>
</html>
"""
