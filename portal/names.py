"""Display names for codes (countries, sectors) in the page's language."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any


def country_name(alpha3: str | None, lang: str) -> str:
    if not alpha3:
        return ""
    from tbt_alert.countries import country

    try:
        found = country(alpha3)
    except (KeyError, LookupError, ValueError):
        return alpha3
    if found is None:
        return alpha3
    return f"{found.name_zh if lang == 'zh' else found.name_en} ({alpha3})"


@functools.lru_cache(maxsize=1)
def _sector_names() -> Mapping[str, tuple[str, str]]:
    try:
        from classifiers.taxonomy import load_taxonomy
    except ImportError:  # the taxonomy is not built yet: codes are shown as they are
        return {}
    return {s.code: (s.name_zh, s.name_en) for s in load_taxonomy().sectors}


def sector_name(code: str, lang: str) -> str:
    names = _sector_names().get(code)
    if not names:
        return code
    return names[0] if lang == "zh" else names[1]


def sector_choices(lang: str) -> list[tuple[str, str]]:
    return [(code, names[0] if lang == "zh" else names[1]) for code, names in _sector_names().items()]


def facet_label(facet: str, key: Any, lang: str, words: Mapping[str, str]) -> str:
    value = str(key)
    if facet == "countries":
        return country_name(value, lang)
    if facet == "sectors":
        return sector_name(value, lang)
    if facet == "kinds":
        return words.get(f"kind_{value}", value)
    if facet == "bri":
        return words["bri_yes"] if value in ("true", "1", "True") else words["bri_no"]
    if facet == "open_for_comment":
        return words["open_yes"] if value in ("true", "1", "True", "open") else words["open_no"]
    return value
