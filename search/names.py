"""Index and alias names under the configured prefix.

Live indices carry the mapping version and a build timestamp
(``{prefix}-measures-v3-20261129T135500123456``); an alias without the suffix points at the
live one. Every name we touch is matched exactly against these patterns, so a rebuild can
never delete an index of another prefix or another application.
"""

from __future__ import annotations

import datetime as dt
import re

from tbt_alert.settings import Settings

# Bump when a mapping changes: `index update` rebuilds a live index of an older version (a strict
# mapping would refuse the new fields). 3: suggested HS codes (hs_suggested, hs_suggested_codes);
# 4: the sentence vector (dense retrieval);
# 5: Chinese names of sectors, markets and suggested HS codes (sectors_zh, markets_zh, hs_names_zh);
# 6: cited standards (standards, standard_keys, standard_codes, standard_adopting_markets).
MAPPING_VERSION = 6
KINDS = ("measures", "bulletins")


def alias(settings: Settings, kind: str) -> str:
    """The alias readers use, e.g. ``tbt-measures``."""
    _check(kind)
    return f"{settings.index_prefix}-{kind}"


def locks_index(settings: Settings) -> str:
    """The small index that holds rebuild locks."""
    return f"{settings.index_prefix}-locks"


def new_index(settings: Settings, kind: str, now: dt.datetime | None = None) -> str:
    """A fresh versioned index name for ``kind``, unique to the microsecond."""
    _check(kind)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dt%H%M%S%f")
    return f"{settings.index_prefix}-{kind}-v{MAPPING_VERSION}-{stamp}"


def is_versioned_index(settings: Settings, kind: str, name: str) -> bool:
    """True when ``name`` is exactly one of our versioned indices of ``kind`` (any mapping version)."""
    pattern = rf"{re.escape(settings.index_prefix)}-{kind}-v\d+-\d{{8}}t\d{{12}}"
    return re.fullmatch(pattern, name) is not None


def mapping_version(settings: Settings, kind: str, name: str) -> int | None:
    """The mapping version in one of our versioned index names; None for any other name."""
    if not is_versioned_index(settings, kind, name):
        return None
    return int(name[len(f"{settings.index_prefix}-{kind}-v") :].split("-", 1)[0])


def is_current_index(settings: Settings, kind: str, name: str) -> bool:
    """True when ``name`` is one of our indices of ``kind`` built with today's mappings."""
    return mapping_version(settings, kind, name) == MAPPING_VERSION


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; use one of {', '.join(KINDS)}")
