"""Names shown in bulletins: countries, sectors, measure kinds and follow-up relations, in zh and en.

Sector names come from the taxonomy (classifiers), countries from the country registry; this module
only adds the few labels of our own (kinds, relations) and looks the rest up.
"""

from __future__ import annotations

import functools

from tbt_alert.countries import country

KIND_LABELS = {
    "tbt_notification": ("TBT通报", "TBT notification"),
    "sps_notification": ("SPS通报", "SPS notification"),
    "regulation": ("技术法规", "Regulation"),
    "standard": ("标准", "Standard"),
    "recall": ("召回/安全警示", "Recall / safety alert"),
}
RELATION_LABELS = {
    "addendum": ("补遗", "Addendum"),
    "corrigendum": ("勘误", "Corrigendum"),
    "revision": ("修订版", "Revision"),
    "supplement": ("补充", "Supplement"),
    "update": ("更新", "Update"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def kind_label(kind: str, lang: str) -> str:
    return _pick(KIND_LABELS.get(kind, (kind, kind)), lang)


def relation_label(relation: str | None, lang: str) -> str:
    if not relation:
        return ""
    return _pick(RELATION_LABELS.get(relation, (relation, relation)), lang)


def country_label(alpha3: str | None, lang: str) -> str:
    if not alpha3:
        return "未注明" if lang == "zh" else "not stated"
    try:
        row = country(alpha3)
    except KeyError:
        return alpha3
    return row.name_zh if lang == "zh" else row.name_en


@functools.lru_cache(maxsize=1)
def _sector_names() -> dict[str, tuple[str, str]]:
    try:
        from classifiers.taxonomy import load_taxonomy
    except ModuleNotFoundError as exc:
        if exc.name != "classifiers.taxonomy":
            raise
        # The taxonomy (issue 4) is not built in this checkout yet: show the sector codes.
        return {}
    return {s.code: (s.name_zh, s.name_en) for s in load_taxonomy().sectors}


def sector_label(code: str, lang: str) -> str:
    names = _sector_names().get(code)
    return _pick(names, lang) if names else code
