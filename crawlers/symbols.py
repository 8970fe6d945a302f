"""WTO document symbols of TBT and SPS notifications: ``G/TBT/N/EU/1234/Add.1/Corr.1``.

A symbol names the agreement (TBT or SPS), the notifying member, the notification number and any
follow-ups: addenda (``Add.N``), corrigenda (``Corr.N``), revisions (``Rev.N``) and supplements
(``Suppl.N``). A follow-up's parent is the symbol without its last follow-up, so a corrigendum to an
addendum hangs under the addendum, and the addendum under the original notification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tbt_alert.countries import EU_CODE, to_alpha3
from tbt_alert.errors import InvalidSymbol

Domain = Literal["TBT", "SPS"]
Relation = Literal["addendum", "corrigendum", "revision", "supplement"]

_RELATIONS: dict[str, Relation] = {"add": "addendum", "corr": "corrigendum", "rev": "revision", "suppl": "supplement"}
_CANONICAL = {"add": "Add", "corr": "Corr", "rev": "Rev", "suppl": "Suppl"}
# WTO member codes that are not ISO alpha-3 codes of the member.
_MEMBER_CODES = {"EU": EU_CODE, "EEC": EU_CODE, "EC": EU_CODE, "TPKM": "TWN"}

_SYMBOL = re.compile(
    r"""^G\s*/\s*(?P<domain>TBT|SPS)\s*/\s*N\s*/\s*(?P<member>[A-Z]{2,4})\s*/\s*(?P<number>\d{1,6})
        (?P<followups>(?:\s*/\s*(?:Add|Corr|Rev|Suppl)\s*\.?\s*\d{1,3})*)\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_FOLLOWUP = re.compile(r"(Add|Corr|Rev|Suppl)\s*\.?\s*(\d{1,3})", re.IGNORECASE)
# Symbols in one field are separated by commas, semicolons, line breaks or plain spaces.
_SEPARATOR = re.compile(r"[,;\n\r]+|\s+(?=G\s*/)", re.IGNORECASE)


@dataclass(frozen=True)
class DocumentSymbol:
    """One parsed symbol; ``symbol`` is the canonical spelling (``G/TBT/N/EU/1234/Add.1``)."""

    symbol: str
    domain: Domain
    member_code: str  # as written in the symbol: "EU", "TPKM", "CHN"
    country: str | None  # ISO alpha-3 of the member (EUR for the EU); None if the code is unknown
    number: int
    followups: tuple[tuple[str, int], ...]  # (("Add", 1), ("Corr", 1))

    @property
    def base(self) -> str:
        """The original notification this symbol belongs to, without any follow-up."""
        return f"G/{self.domain}/N/{self.member_code}/{self.number}"

    @property
    def relation(self) -> Relation | None:
        """What the last follow-up is (addendum, corrigendum, ...); None for an original notification."""
        if not self.followups:
            return None
        return _RELATIONS[self.followups[-1][0].lower()]

    @property
    def parent(self) -> str | None:
        """The symbol this one follows up (the symbol less its last follow-up); None for an original."""
        if not self.followups:
            return None
        return _render(self.base, self.followups[:-1])

    @property
    def is_followup(self) -> bool:
        return bool(self.followups)


def _render(base: str, followups: tuple[tuple[str, int], ...]) -> str:
    return base + "".join(f"/{kind}.{n}" for kind, n in followups)


def parse_symbol(text: str) -> DocumentSymbol:
    """Parse one symbol (spaces around it and around slashes allowed); raises InvalidSymbol."""
    match = _SYMBOL.match(text.strip().replace("\u00a0", " "))
    if not match:
        raise InvalidSymbol(f"{text.strip()!r} is not a WTO notification symbol like G/TBT/N/EU/1234/Add.1")
    member = match.group("member").upper()
    followups = tuple((_CANONICAL[kind.lower()], int(n)) for kind, n in _FOLLOWUP.findall(match.group("followups")))
    domain: Domain = "TBT" if match.group("domain").upper() == "TBT" else "SPS"
    number = int(match.group("number"))
    base = f"G/{domain}/N/{member}/{number}"
    country = _MEMBER_CODES.get(member) or (to_alpha3(member) if len(member) == 3 else None)
    return DocumentSymbol(
        symbol=_render(base, followups),
        domain=domain,
        member_code=member,
        country=country,
        number=number,
        followups=followups,
    )


def parse_symbols(field: str) -> list[DocumentSymbol]:
    """Every symbol in a field such as ``"G/TBT/N/ARE/703, G/TBT/N/BHR/780"``, in order, without repeats.

    Raises InvalidSymbol when any part is not a symbol, so a garbled field is never half-read.
    """
    found: dict[str, DocumentSymbol] = {}
    for part in _SEPARATOR.split(field):
        if part.strip():
            parsed = parse_symbol(part)
            found.setdefault(parsed.symbol, parsed)
    return list(found.values())
