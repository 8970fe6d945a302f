"""Cited standards: find the standards a measure's text names and normalise each one.

``EN 71-3:2019+A1:2021`` becomes body EN, number 71, part 3, year 2019, amendment A1:2021;
``BS EN 71-3`` is the same European standard adopted by the United Kingdom (``adopted_by``
BS), ``ГОСТ Р ИСО 9001-2015`` is ISO 9001 adopted as a Russian national standard. The
``key`` (body and number, e.g. ``IEC 60335``) is what search and the standard page group
by, so every part and edition of a standard meets under one key.

Some designations are also ordinary words or codes (``US`` the country, ``IS`` the verb,
``MS``/``KS`` model prefixes such as "STIHL MS 361C", ``GB`` gigabytes, ``AS`` the
conjunction): those count only with a standards word nearby or an edition year, never
inside a model or approval code ("e1*KS07/46", "FS-KS-7/6582").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Written designation (as a regex, longest first) -> canonical body. Cyrillic forms of the
# Russian and Kazakh designations (and МЭК/ИСО/ЕН inside them) read as their Latin names.
BODIES: tuple[tuple[str, str], ...] = (
    (r"ISO/IEC", "ISO/IEC"),
    (r"ИСО/МЭК", "ISO/IEC"),
    (r"ISO", "ISO"),
    (r"ИСО", "ISO"),
    (r"IEC", "IEC"),
    (r"МЭК", "IEC"),
    (r"CISPR", "CISPR"),
    (r"ENV", "ENV"),  # a European prestandard
    (r"EN", "EN"),
    (r"ЕН", "EN"),
    (r"ASTM", "ASTM"),
    (r"UL", "UL"),
    (r"CSA", "CSA"),
    (r"AS/NZS", "AS/NZS"),
    (r"GB/T", "GB/T"),
    (r"GB/Z", "GB/Z"),
    (r"GB", "GB"),
    (r"GOST\s?R", "GOST R"),
    (r"ГОСТ\s?Р", "GOST R"),
    (r"GOST", "GOST"),
    (r"ГОСТ", "GOST"),
    (r"STB", "STB"),
    (r"СТБ", "STB"),
    (r"СТ\s?РК", "ST RK"),
    (r"ST\s?RK", "ST RK"),
    (r"GSO", "GSO"),
    (r"SASO", "SASO"),
    (r"TCVN", "TCVN"),
    (r"QCVN", "QCVN"),
    (r"SNI", "SNI"),
    (r"TIS", "TIS"),
    (r"JIS", "JIS"),
    (r"DEAS", "DEAS"),
    (r"EAS", "EAS"),
    (r"TZS", "TZS"),
    (r"DIN\s?VDE", "DIN VDE"),
    (r"DIN", "DIN"),
    (r"UNE", "UNE"),
    (r"NF", "NF"),
    (r"BS", "BS"),
    (r"ANSI", "ANSI"),
    (r"SANS", "SANS"),
    (r"NBR", "NBR"),
    (r"KS", "KS"),
    (r"MS", "MS"),
    (r"US", "US"),
    (r"RS", "RS"),
    (r"IS", "IS"),
    (r"AS", "AS"),
)

# International and regional bodies whose standards national bodies adopt under a prefix.
INTERNATIONAL = frozenset({"ISO", "IEC", "ISO/IEC", "EN", "ENV", "CISPR", "EAS", "DEAS", "GSO"})

# Designations that are also words, countries or model prefixes: cited only with a standards
# word nearby or an edition year (see ``_credible``).
AMBIGUOUS = frozenset({"KS", "MS", "US", "RS", "IS", "AS", "BS", "GB", "NF", "TIS", "SNI", "UL", "CSA"})

# A national prefix before an international designation -> the market that adopted it.
ADOPTING_MARKETS: Mapping[str, str] = {
    "BS": "GBR",
    "DIN": "DEU",
    "DIN VDE": "DEU",
    "NF": "FRA",
    "UNE": "ESP",
    "ÖNORM": "AUT",
    "NEN": "NLD",
    "PN": "POL",
    "ČSN": "CZE",
    "UNI": "ITA",
    "SS": "SWE",
    "SFS": "FIN",
    "DS": "DNK",
    "NBN": "BEL",
    "GOST": "EAEU",
    "GOST R": "RUS",
    "STB": "BLR",
    "ST RK": "KAZ",
    "GB": "CHN",
    "GB/T": "CHN",
    "TCVN": "VNM",
    "SNI": "IDN",
    "TIS": "THA",
    "MS": "MYS",
    "KS": "KEN",
    "US": "UGA",
    "TZS": "TZA",
    "RS": "RWA",
    "JIS": "JPN",
    "AS/NZS": "AUS",
    "AS": "AUS",
    "CSA": "CAN",
    "CAN/CSA": "CAN",
    "ANSI": "USA",
    "SASO": "SAU",
    "GSO": "GCC",
    "SANS": "ZAF",
    "NBR": "BRA",
    "IS": "IND",
    "EN": "EUR",  # the project's code for the EU (tbt_alert.countries)
}

# Bodies whose numbers carry a class letter ("ASTM F963", "JIS C 8303", "KS C 9335", "NF C 15-100",
# "CSA C22.2"); elsewhere a letter before the number makes a batch or model number.
CLASS_LETTERS = frozenset({"ASTM", "JIS", "KS", "NF", "CSA", "UL", "DIN VDE", "AS"})

# Bodies that write the edition after a dash ("GB 6675.4-2014", "ГОСТ Р 51558-2014", "ASTM F963-17").
DASH_YEAR = frozenset({"GB", "GB/T", "GB/Z", "GOST", "GOST R", "STB", "ST RK", "ASTM", "TIS"})

_DASH = "\\-\u2010\u2011\u2012\u2013\u2014\uff0d"  # escaped for use inside [...]
_D = f"[{_DASH}]"
_PREFIXES = (
    r"(?:BSEN|BS|DIN|NF|UNE|ÖNORM|OENORM|NEN|PN|ČSN|CSN|UNI|SS|SFS|DS|NBN|I\.S\.|KS\s[A-Z](?=\s)|KS|US|TZS|RS|MS"
    r"|SNI|TIS|TCVN|SASO|GSO|JIS|SANS|NBR|CAN|ANSI)"
)
# Letters and digits of the scripts designations are written next to: a designation may not start
# or end inside such a word. Chinese and Japanese characters are not among them: "符合GB 31701标准".
_WORD = "A-Za-z0-9_\u00c0-\u024f\u0400-\u04ff"
_CONTEXT = re.compile(
    r"standard|norm|specification|spec\b|requirement|complian|conform|test|стандарт|标准|規格|tiêu chuẩn|"
    r"quy chuẩn|estándar|standaard|directive|regulation",
    re.IGNORECASE,
)
_WINDOW = 80  # characters before a designation searched for a standards word
_AFTER = 12
_AFTER_CONTEXT = re.compile(r"\s*[《〈（(]?[^，。；,;]{0,8}?(?:标准|規格|规范)")


@dataclass(frozen=True)
class CitedStandard:
    """One cited standard, normalised; ``key`` groups all its parts and editions."""

    code: str
    body: str
    number: str
    part: str | None = None
    year: int | None = None
    amendment: str | None = None
    adopted_by: str | None = None  # the national designation it is cited under ("BS" in BS EN 71-3)

    @property
    def key(self) -> str:
        return f"{self.body} {self.number}"

    @property
    def adopting_market(self) -> str | None:
        """The market (ISO alpha-3, or EUR/EAEU/GCC) whose national adoption is cited, if any.

        The first prefix names it: "DIN EN ISO 20345" is Germany's adoption of the European one.
        """
        if not self.adopted_by:
            return None
        if re.match(r"KS [A-Z]\b", self.adopted_by):  # Korea's KS writes a class letter: "KS C IEC 60335-1"
            return "KOR"
        for prefix in (self.adopted_by, *self.adopted_by.split()):
            if prefix in ADOPTING_MARKETS:
                return ADOPTING_MARKETS[prefix]
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "key": self.key,
            "body": self.body,
            "number": self.number,
            "part": self.part,
            "year": self.year,
            "amendment": self.amendment,
            "adopted_by": self.adopted_by,
        }


def _body_alternation() -> str:
    return "|".join(f"(?:{pattern})" for pattern, _ in BODIES)


@functools.lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    bodies = _body_alternation()
    # An optional adopting prefix ("BS EN", "UNE-EN", "CAN/CSA", "ANSI/CAN/UL", "KS EAS", "BSEN"),
    # then the body, then the number with its parts, edition and amendments.
    designation = (
        rf"(?P<adopt>(?:(?:{_PREFIXES}|GOST\s?R|ГОСТ\s?Р|GOST|ГОСТ|СТБ|STB|СТ\s?РК|ST\s?RK|GB/T|GB|EN|ЕН|AS/NZS)"
        rf"(?:\s?[/{_DASH}]\s?|\s|(?=EN))(?:(?:CAN|CSA)/)?){{1,2}})??"
        rf"(?P<body>{bodies})"
        rf"(?:\s?[{_DASH}]\s?|\s{{0,2}})"
        r"(?P<cls>(?:[A-Z](?:\s?(?=\d)|(?=\d)))|(?:[A-Z]\s(?=IEC|ISO)))?"
        r"(?:No\.?\s?)?"
        r"(?P<num>\d{1,6}(?:\.\d{1,3}){0,3})"  # six digits: ETSI's EN 300220
        rf"(?P<parts>(?:\s?{_D}\s?\d{{1,4}}(?![\d/]))*)"
        r"(?P<year>\s?:\s?(?:19|20)\d\d|\s?:\s?\d\d(?!\d)|\s?/\s?(?:BKHCN|BCT|BYT|BGTVT|BTNMT)[A-Z]*)?"
        r"(?P<amd>(?:\s?[+/]\s?(?:A|AC|Amd\s?)\d{1,2}(?:\s?:\s?(?:19|20)\d\d)?)*)"
        r"(?:\s?\((?P<reapp>(?:19|20)\d\d)\))?"
    )
    # Left: not inside a word, a model number or an approval code ("e1*KS07/46", "FS-KS-7").
    # "227 IEC 52" and "245 IEC 53" are cable types (IEC 60227/60245 designations), not citations.
    # A full stop before counts only after a word ("None reported.EN 71-1"), not in "K.O.ISO".
    return re.compile(
        rf"(?<![{_WORD}*/{_DASH}])(?<![0-9A-Z.]\.)(?!(?<=\d\d\d\s)IEC\s?\d){designation}"
        rf"(?![{_WORD}.]*\d|[A-Za-z])"
    )


@functools.lru_cache(maxsize=1)
def _bodies() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(rf"^(?:{p})$"), canonical) for p, canonical in BODIES)


def _canonical_body(written: str) -> str | None:
    written = written.strip()
    for pattern, canonical in _bodies():
        if pattern.match(written):
            return canonical
    return None


_PREFIX_SPELLINGS = {"OENORM": "ÖNORM", "CSN": "ČSN", "I.S.": "IS", "BSEN": "BS EN"}


def _canonical_prefix(written: str | None) -> str | None:
    """ "BS ", "DIN EN ", "ANSI/CAN/", "СТ РК ГОСТ Р " -> "BS", "DIN EN", "ANSI", "ST RK GOST R"."""
    if not written:
        return None
    text = re.sub(r"/(?:CAN|CSA)/?$", "", re.sub(rf"[\s/{_DASH}]+$", "", written.strip()))
    names: list[str] = []
    for token in re.findall(r"GOST\s?R|ГОСТ\s?Р|СТ\s?РК|ST\s?RK|AS/NZS|GB/T|I\.S\.|[^\s/\-]+", text):
        spelled = _PREFIX_SPELLINGS.get(token, token)
        if spelled.startswith("BS") and spelled.endswith("EN") and spelled != "BS":
            names += ["BS", "EN"]
            continue
        names.append(_canonical_body(spelled) or spelled)
    return " ".join(names) or None


def _year(raw: str | None, body: str) -> int | None:
    if not raw:
        return None
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    value = int(digits)
    if len(digits) == 2:
        value += 2000 if value <= 40 else 1900
    if body == "TIS" and value > 2400:  # Thai standards write the Buddhist-era year
        value -= 543
    return value


def _split_parts(parts: str, body: str) -> tuple[list[str], int | None]:
    """The part numbers written after dashes, and the edition year if the last dash holds one."""
    groups = [g for g in re.split(_D, re.sub(r"\s", "", parts)) if g]
    year = None
    if (
        groups
        and (
            (len(groups[-1]) == 4 and groups[-1][:2] in {"19", "20"})
            or (body in DASH_YEAR and body != "TIS" and len(groups[-1]) == 2)  # "ГОСТ 12.1.004-91"
            or (body == "TIS" and len(groups[-1]) == 4 and groups[-1][:2] == "25")
        )
    ):
        year = _year(groups.pop(), body)
    return groups, year


def _credible(
    text: str, match: re.Match[str], body: str, adopted: str | None, year: int | None, year_digits: int
) -> bool:
    """An ambiguous designation counts with a four-digit year, an adopted standard, or a standards
    word nearby ("GB001-02" is a model, "GB 2626-2019" a standard)."""
    if body not in AMBIGUOUS or adopted or body == "GB" and "." in match.group("num"):
        return True
    gap = text[match.end("body") : match.start("num")]
    if not re.search(rf"[\s{_DASH}]", gap) and body not in {"GB", "BS"}:
        # "RS50", "KS07", "MS361": written against its number, an ambiguous designation is a model
        # name ("GB4706.1-2005" and "BS1363" are common and judged below).
        return False
    if year is not None and year_digits == 4 or match.group("parts") and body in {"UL", "CSA", "NF"}:
        return True
    if body == "BS" and len(match.group("num")) >= 3:  # "BS 1363" on a plug; "item no. BS 9-3127" is not
        return True
    before = text[max(0, match.start() - _WINDOW) : match.start()]
    # Chinese names the kind after the code: "符合GB 31701标准".
    after = text[match.end() : match.end() + _AFTER]
    return bool(_CONTEXT.search(before) or _AFTER_CONTEXT.match(after))


def _from_match(text: str, match: re.Match[str]) -> CitedStandard | None:
    body = _canonical_body(match.group("body"))
    if body is None:
        return None
    adopted = _canonical_prefix(match.group("adopt"))
    if adopted == body:
        adopted = None
    cls = (match.group("cls") or "").strip()
    if cls and body not in CLASS_LETTERS:  # "BSA16112", "ENW0121": batch and model numbers
        return None
    number = f"{cls} {match.group('num')}" if cls and body in {"JIS", "KS", "NF", "CSA"} else cls + match.group("num")
    number = number.replace(" ", "") if body == "ASTM" else number
    parts, dash_year = _split_parts(match.group("parts") or "", body)
    raw_year = match.group("year") or ""
    year = _year(raw_year, body) if ":" in raw_year else dash_year
    reapproved = match.group("reapp")
    year_digits = (
        len(re.sub(r"\D", "", raw_year)) if ":" in raw_year else len(re.split(_D, match.group("parts") or "")[-1])
    )
    if not _credible(text, match, body, adopted, year, year_digits):
        return None
    part = "-".join(parts) or None
    amendment = _amendment(match.group("amd"))
    return CitedStandard(
        code=_code(adopted, body, number, part, year, amendment, reapproved, raw_year),
        body=body,
        number=number,
        part=part,
        year=year,
        amendment=amendment,
        adopted_by=adopted,
    )


def _amendment(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    pieces = [re.sub(r"\s", "", p) for p in re.split(r"[+/]", raw) if p.strip()]
    return "+".join(pieces) or None


def _code(
    adopted: str | None,
    body: str,
    number: str,
    part: str | None,
    year: int | None,
    amendment: str | None,
    reapproved: str | None,
    raw_year: str,
) -> str:
    code = f"{adopted} {body} {number}" if adopted else f"{body} {number}"
    if part:
        code += f"-{part}"
    if year is not None:
        if body == "ASTM":
            code += f"-{year % 100:02d}"
        else:
            code += f"-{year}" if body in DASH_YEAR else f":{year}"
    elif "/" in raw_year:  # a Vietnamese regulation's issuing ministry, "QCVN 4:2009/BKHCN"
        code += raw_year.strip()
    if reapproved:
        code += f"({reapproved})"
    if amendment:
        code += f"+{amendment}"
    return code


# After a standard, a list goes on: "EN 71-1, -2 and -3", "EN 60335-1 and 60335-2-30",
# "EN 60598 part 1 and part 2-20", "EN 12586 and 71-1".
_CONTINUATION = re.compile(
    rf"(?:\s*,\s*|\s*;\s*|\s+(?:and|or|&|et|und|y|и|та)\s+|\s*/\s*)(?P<word>parts?\s|Teil\s)?"
    rf"(?P<dash>{_D})?(?P<num>\d{{1,5}})(?P<parts>(?:{_D}\d{{1,4}})*)"
    rf"(?P<year>:(?:19|20)\d\d)?(?![{_WORD}.]*\d|[A-Za-z/])"
)
_PART_WORD = re.compile(rf"\s*\(?(?:parts?|Teil|partie)\s?(?P<parts>\d{{1,3}}(?:{_D}\d{{1,3}})*)")


def _continued(text: str, end: int, first: CitedStandard) -> Iterator[tuple[CitedStandard, int]]:
    """The further standards of a list that starts with ``first`` (same body), with where each ends."""
    last = first
    while True:
        match = _CONTINUATION.match(text, end)
        if match is None:
            return
        num, parts = match.group("num"), match.group("parts") or ""
        year = _year(match.group("year"), first.body)
        if match.group("dash") or match.group("word"):  # "-2", "part 2-20": another part of the same one
            part = num + parts.replace("–", "-")
            nxt = _variant(first, first.number, part, year)
        elif len(num) >= 3 or parts:  # "60335-2": another standard of the same body
            nxt = _variant(first, num, parts.lstrip("-") or None, year)
        elif last.part is not None and len(num) <= 2:  # "EN 60335-1 and 2"
            nxt = _variant(first, first.number, num, year)
        else:
            return
        yield nxt, match.end()
        last, end = nxt, match.end()


def _variant(first: CitedStandard, number: str, part: str | None, year: int | None) -> CitedStandard:
    code = _code(first.adopted_by, first.body, number, part, year, None, None, "")
    return CitedStandard(code, first.body, number, part, year, None, first.adopted_by)


def cited_standards(text: str | None) -> list[CitedStandard]:
    """The standards ``text`` cites, each code once, in the order first cited."""
    if not text:
        return []
    found: dict[str, CitedStandard] = {}
    for match in _pattern().finditer(text):
        standard = _from_match(text, match)
        if standard is None:
            continue
        found.setdefault(standard.code, standard)
        end = match.end()
        part_word = _PART_WORD.match(text, end)
        if part_word and standard.part is None:  # "EN 71 part 1", "EN 71 (parts 1, 3)"
            standard = _variant(standard, standard.number, part_word.group("parts"), standard.year)
            found.pop(f"{standard.body} {standard.number}", None)
            found.setdefault(standard.code, standard)
            end = part_word.end()
        for more, _ in _continued(text, end, standard):
            found.setdefault(more.code, more)
    return list(found.values())


TEXT_FIELDS = ("title", "title_en", "description", "products", "hazard", "measures_taken", "risk_type")


def record_standards(record: Mapping[str, Any], fields: Iterable[str] = TEXT_FIELDS) -> list[CitedStandard]:
    """The standards a measure (or a classify record) cites in its text fields, each once."""
    found: dict[str, CitedStandard] = {}
    for field in fields:
        value = record.get(field)
        if isinstance(value, str):
            for standard in cited_standards(value):
                found.setdefault(standard.code, standard)
    return list(found.values())


def related_keys(key: str) -> list[str]:
    """``key`` and the keys of the same standard under its other designation, by numbering rule:
    CENELEC numbers its adoptions of IEC standards in the EN 60000-69999 range with the IEC
    number (EN 60335 is IEC 60335), and of CISPR standards as EN 550nn (EN 55014 is CISPR 14).
    A search for either designation then finds both. Identity of content is not implied."""
    body, _, number = key.partition(" ")
    keys = [key]
    if number.isdigit():
        value = int(number)
        if body in {"EN", "IEC"} and 60000 <= value <= 69999:
            keys.append(f"{'IEC' if body == 'EN' else 'EN'} {number}")
        elif body == "EN" and 55000 <= value <= 55099:
            keys.append(f"CISPR {value - 55000}")
        elif body == "CISPR" and value < 100:
            keys.append(f"EN {55000 + value}")
    return keys


def standard_key(query: str) -> str | None:
    """The key (``IEC 60335``) of the standard a user typed, in any of its written forms."""
    standards = cited_standards(query.strip())
    if not standards:
        # A bare query has no standards word to make an ambiguous designation credible.
        standards = cited_standards("standard " + query.strip())
    return standards[0].key if standards else None
