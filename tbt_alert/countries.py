"""The country registry: ISO 3166 countries with Chinese and English names, WTO and EU membership,
ePing member ids and the Belt-and-Road flag, read from ``tbt_alert/data/countries.csv``.

Sources name countries in many ways ("Bahrain, Kingdom of", "Chinese Taipei", "C156", "中国",
"EEC"); :func:`to_alpha3` turns all of them into the one code the database stores. The EU is a WTO
member of its own and gets the jurisdiction code ``EUR``.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EU_CODE = "EUR"
_DATA_FILE = Path(__file__).resolve().parent / "data" / "countries.csv"
_EPING_ID = re.compile(r"^C(\d{1,3})$", re.IGNORECASE)


@dataclass(frozen=True)
class Country:
    """One row of the registry."""

    alpha3: str
    alpha2: str | None
    numeric: str | None
    name_en: str
    name_zh: str
    wto_member: bool
    eping_id: str | None
    bri: bool  # signed a Belt-and-Road cooperation document with China
    eu: bool  # EU member state (and the EU itself, EUR)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Registry:
    by_alpha3: Mapping[str, Country]
    by_name: Mapping[str, str]  # normalised name/code -> alpha-3
    by_eping: Mapping[str, str]  # "C048" -> alpha-3


def _normalise(name: str) -> str:
    """Case, accents, apostrophes, punctuation and a leading "the" do not distinguish country names."""
    text = unicodedata.normalize("NFKD", name.replace("’", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[\s\-\u2010-\u2015_.,;:()'\"/]+", " ", text).strip()
    return re.sub(r"^the ", "", text)


def _swapped(name: str) -> str | None:
    """WTO and ISO write "Korea, Republic of"; the same country is "Republic of Korea"."""
    if name.count(",") != 1:
        return None
    head, tail = (part.strip() for part in name.split(","))
    return f"{tail} {head}" if head and tail else None


def _flag(value: str, row: int) -> bool:
    if value not in {"0", "1"}:
        raise ValueError(f"{_DATA_FILE}: row {row} has flag {value!r}; use 0 or 1")
    return value == "1"


@functools.lru_cache(maxsize=1)
def _registry() -> _Registry:
    lines = [line for line in _DATA_FILE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    by_alpha3: dict[str, Country] = {}
    by_name: dict[str, str] = {}
    by_eping: dict[str, str] = {}
    for number, row in enumerate(csv.DictReader(lines), start=1):
        aliases = tuple(a for a in row["aliases"].split("|") if a)
        country = Country(
            alpha3=row["alpha3"],
            alpha2=row["alpha2"] or None,
            numeric=row["numeric"] or None,
            name_en=row["name_en"],
            name_zh=row["name_zh"],
            wto_member=_flag(row["wto_member"], number),
            eping_id=row["eping_id"] or None,
            bri=_flag(row["bri"], number),
            eu=_flag(row["eu"], number),
            aliases=aliases,
        )
        by_alpha3[country.alpha3] = country
        if country.eping_id:
            by_eping[country.eping_id.upper()] = country.alpha3
    # Main names before aliases, so an alias never takes another country's own name; codes last,
    # because a code always wins over a name.
    for primary in (True, False):
        for country in by_alpha3.values():
            names = (country.name_en, country.name_zh) if primary else country.aliases
            for name in names:
                for variant in (name, _swapped(name)):
                    if variant:
                        by_name.setdefault(_normalise(variant), country.alpha3)
    for country in by_alpha3.values():
        by_name[_normalise(country.alpha3)] = country.alpha3
        if country.alpha2:
            by_name[_normalise(country.alpha2)] = country.alpha3
    return _Registry(by_alpha3=by_alpha3, by_name=by_name, by_eping=by_eping)


def to_alpha3(name_or_code: str | None) -> str | None:
    """The ISO alpha-3 code (``EUR`` for the EU) for a code, ePing id, English or Chinese name; None if unknown."""
    if not name_or_code or not name_or_code.strip():
        return None
    registry = _registry()
    text = name_or_code.strip()
    eping = _EPING_ID.match(text)
    if eping:
        return registry.by_eping.get(f"C{int(eping.group(1)):03d}")
    for candidate in (text, _swapped(text)):
        if candidate:
            found = registry.by_name.get(_normalise(candidate))
            if found:
                return found
    return None


def country(alpha3: str) -> Country:
    """The registry row for an alpha-3 code; raises KeyError naming the code when it is not one."""
    try:
        return _registry().by_alpha3[alpha3.strip().upper()]
    except KeyError:
        raise KeyError(f"{alpha3!r} is not an ISO 3166 alpha-3 code or EUR; use to_alpha3() for names") from None


def countries() -> list[Country]:
    """Every row, EU included, in the order of the data file."""
    return list(_registry().by_alpha3.values())


def is_bri(alpha3: str) -> bool:
    """True when the country signed a Belt-and-Road cooperation document with China."""
    return country(alpha3).bri


def is_eu(alpha3: str) -> bool:
    """True for EU member states and for the EU itself (EUR)."""
    return country(alpha3).eu


def eping_id(alpha3: str) -> str | None:
    """ePing's member id ("C156"), or None for a country that is not a WTO member."""
    return country(alpha3).eping_id


def applicable_countries(country_code: str | None, extra: Mapping[str, Any] | None) -> list[str]:
    """The markets a measure applies in: its notifying country plus, for a regional body
    (EAEU, GCC) whose measures carry no single country, the members in ``extra.applies_to``."""
    codes = [country_code] if country_code else []
    for code in (extra or {}).get("applies_to", []) or []:
        if isinstance(code, str) and code not in codes:
            codes.append(code)
    return codes
