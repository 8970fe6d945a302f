"""Display labels in Chinese and English for the codes readers see: sectors, countries, measure kinds
and follow-up relations. Bulletins (alerts), the portal and the reports all read them here.

Sector names come from the taxonomy (``classifiers/sectors.yml``) and country names from the country
registry (``tbt_alert/countries.py``); this module adds only the few labels of its own (kinds,
relations, the reports' placeholders) and looks the rest up. It lives in ``classifiers`` because
that is the lowest package that may read both, and alerts, reports and portal may all import it.

A code that has no label is shown as it is: a reader sees ``ABC`` rather than an empty cell.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from classifiers.taxonomy import UNTAGGED, load_taxonomy
from tbt_alert.countries import country

KIND_LABELS: Mapping[str, tuple[str, str]] = {
    "tbt_notification": ("TBT通报", "TBT notification"),
    "sps_notification": ("SPS通报", "SPS notification"),
    "regulation": ("技术法规", "Regulation"),
    "standard": ("标准", "Standard"),
    "recall": ("召回/安全警示", "Recall / safety alert"),
}
RELATION_LABELS: Mapping[str, tuple[str, str]] = {
    "addendum": ("补遗", "Addendum"),
    "corrigendum": ("勘误", "Corrigendum"),
    "revision": ("修订版", "Revision"),
    "supplement": ("补充", "Supplement"),
    "update": ("更新", "Update"),
}
# What a bulletin says where a measure names no country: the reader should see that it is missing.
NOT_STATED = ("未注明", "not stated")
# The reports' market for a recall without any country (reports.selection.market_of); its English
# label is the code itself.
UNKNOWN_MARKET = "unknown"


def pick(pair: tuple[str, str], lang: str) -> str:
    """The Chinese half of a (zh, en) pair for ``lang == "zh"``, the English half for any other language."""
    return pair[0] if lang == "zh" else pair[1]


def kind_label(kind: str, lang: str) -> str:
    return pick(KIND_LABELS.get(kind, (kind, kind)), lang)


def relation_label(relation: str | None, lang: str) -> str:
    """The label of a follow-up relation ("addendum" -> "补遗"), "" for a measure that is not a follow-up."""
    if not relation:
        return ""
    return pick(RELATION_LABELS.get(relation, (relation, relation)), lang)


@functools.lru_cache(maxsize=1)
def sector_names() -> Mapping[str, tuple[str, str]]:
    """Sector code -> (name_zh, name_en), in the taxonomy's order; read once, on first use."""
    return {s.code: (s.name_zh, s.name_en) for s in load_taxonomy().sectors}


def known_sectors() -> set[str]:
    """The sector codes of the taxonomy."""
    return set(sector_names())


def sector_label(code: str, lang: str) -> str:
    names = sector_names().get(code)
    return pick(names, lang) if names else code


def sector_choices(lang: str) -> list[tuple[str, str]]:
    """(code, name) for every sector in the taxonomy's order, for a form's choice list."""
    return [(code, pick(names, lang)) for code, names in sector_names().items()]


def _country_name(alpha3: str, lang: str) -> str | None:
    """The registry's name of the country, or None when ``alpha3`` is not a code of the registry."""
    try:
        row = country(alpha3)
    except KeyError:
        return None
    return row.name_zh if lang == "zh" else row.name_en


def country_label(alpha3: str | None, lang: str, *, with_code: bool = False) -> str:
    """The country's name ("德国"; "德国 (DEU)" with ``with_code``), "未注明"/"not stated" when there is no
    country, and the code as it is when the registry does not know it."""
    if not alpha3:
        return pick(NOT_STATED, lang)
    name = _country_name(alpha3, lang)
    if name is None:
        return alpha3
    return f"{name} ({alpha3})" if with_code else name


# The recall-risk report prints both languages side by side, so its template calls one function per
# language; it also shows its own placeholders (UNTAGGED, UNKNOWN_MARKET) that are no sector or country.


def sector_zh(code: str) -> str:
    return "未分类" if code == UNTAGGED else sector_label(code, "zh")


def sector_en(code: str) -> str:
    return "untagged" if code == UNTAGGED else sector_label(code, "en")


def market_zh(code: str) -> str:
    name = _country_name(code, "zh")
    if name is not None:
        return name
    return "不明" if code == UNKNOWN_MARKET else code


def market_en(code: str) -> str:
    name = _country_name(code, "en")
    return code if name is None else name
