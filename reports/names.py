"""Display names of markets, sectors and hazards in Chinese and English for the report."""

from __future__ import annotations

import functools

from reports.selection import UNTAGGED


@functools.cache
def _sector_names() -> dict[str, tuple[str, str]]:
    try:
        from classifiers.taxonomy import load_taxonomy
    except ModuleNotFoundError as exc:
        if exc.name != "classifiers.taxonomy":
            raise
        return {}  # the taxonomy is not installed yet: codes stand for themselves
    return {s.code: (s.name_zh, s.name_en) for s in load_taxonomy().sectors}


def known_sectors() -> set[str] | None:
    """Sector codes of the taxonomy, or None while no taxonomy is available to check against."""
    names = _sector_names()
    return set(names) if names else None


def sector_zh(code: str) -> str:
    if code == UNTAGGED:
        return "未分类"
    return _sector_names().get(code, (code, code))[0]


def sector_en(code: str) -> str:
    if code == UNTAGGED:
        return "untagged"
    return _sector_names().get(code, (code, code))[1]


def market_zh(code: str) -> str:
    from tbt_alert.countries import country

    try:
        return country(code).name_zh
    except KeyError:
        return "不明" if code == "unknown" else code


def market_en(code: str) -> str:
    from tbt_alert.countries import country

    try:
        return country(code).name_en
    except KeyError:
        return code
