"""WTO document symbols: agreement, member, number, follow-ups and parent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawlers.symbols import parse_symbol, parse_symbols
from tbt_alert.errors import InvalidSymbol


@pytest.mark.parametrize(
    ("text", "symbol", "domain", "member", "country", "number", "relation", "parent", "base"),
    [
        ("G/TBT/N/EU/1234", "G/TBT/N/EU/1234", "TBT", "EU", "EUR", 1234, None, None, "G/TBT/N/EU/1234"),
        (
            " G/SPS/N/CHN/1234/Add.1 ",
            "G/SPS/N/CHN/1234/Add.1",
            "SPS",
            "CHN",
            "CHN",
            1234,
            "addendum",
            "G/SPS/N/CHN/1234",
            "G/SPS/N/CHN/1234",
        ),
        (
            "G/TBT/N/SAU/1304/Rev.1",
            "G/TBT/N/SAU/1304/Rev.1",
            "TBT",
            "SAU",
            "SAU",
            1304,
            "revision",
            "G/TBT/N/SAU/1304",
            "G/TBT/N/SAU/1304",
        ),
        (
            "G/TBT/N/USA/2211/Corr.1",
            "G/TBT/N/USA/2211/Corr.1",
            "TBT",
            "USA",
            "USA",
            2211,
            "corrigendum",
            "G/TBT/N/USA/2211",
            "G/TBT/N/USA/2211",
        ),
        (
            "G/SPS/N/USA/3000/Suppl.2",
            "G/SPS/N/USA/3000/Suppl.2",
            "SPS",
            "USA",
            "USA",
            3000,
            "supplement",
            "G/SPS/N/USA/3000",
            "G/SPS/N/USA/3000",
        ),
        (
            "G/TBT/N/EU/1234/Add.1/Corr.1",
            "G/TBT/N/EU/1234/Add.1/Corr.1",
            "TBT",
            "EU",
            "EUR",
            1234,
            "corrigendum",
            "G/TBT/N/EU/1234/Add.1",
            "G/TBT/N/EU/1234",
        ),
        (
            "G/TBT/N/BRA/900/Rev.1/Add.3",
            "G/TBT/N/BRA/900/Rev.1/Add.3",
            "TBT",
            "BRA",
            "BRA",
            900,
            "addendum",
            "G/TBT/N/BRA/900/Rev.1",
            "G/TBT/N/BRA/900",
        ),
        (
            "g/tbt/n/eec/12/add. 2",
            "G/TBT/N/EEC/12/Add.2",
            "TBT",
            "EEC",
            "EUR",
            12,
            "addendum",
            "G/TBT/N/EEC/12",
            "G/TBT/N/EEC/12",
        ),
        ("G / TBT / N / TPKM / 541", "G/TBT/N/TPKM/541", "TBT", "TPKM", "TWN", 541, None, None, "G/TBT/N/TPKM/541"),
    ],
)
def test_parse_symbol(
    text: str,
    symbol: str,
    domain: str,
    member: str,
    country: str,
    number: int,
    relation: str | None,
    parent: str | None,
    base: str,
) -> None:
    parsed = parse_symbol(text)
    assert (parsed.symbol, parsed.domain, parsed.member_code, parsed.country, parsed.number) == (
        symbol,
        domain,
        member,
        country,
        number,
    )
    assert (parsed.relation, parsed.parent, parsed.base, parsed.is_followup) == (
        relation,
        parent,
        base,
        relation is not None,
    )


def test_several_symbols_in_one_field() -> None:
    field = "G/TBT/N/ARE/703, G/TBT/N/BHR/780, G/TBT/N/KWT/764; G/TBT/N/OMN/603\nG/TBT/N/QAT/754 G/TBT/N/ARE/703"
    assert [s.symbol for s in parse_symbols(field)] == [
        "G/TBT/N/ARE/703",
        "G/TBT/N/BHR/780",
        "G/TBT/N/KWT/764",
        "G/TBT/N/OMN/603",
        "G/TBT/N/QAT/754",
    ]
    assert [s.country for s in parse_symbols("G/TBT/N/ARE/378/Rev.1, G/TBT/N/YEM/351")] == ["ARE", "YEM"]
    assert parse_symbols("  ") == []


@pytest.mark.parametrize(
    "text",
    ["", "G/TBT/N/EU", "G/TBT/N/EU/12/Amd.1", "G/XYZ/N/EU/1", "TBT/N/EU/1", "G/TBT/N/EU/12 and more", "G/TBT/N/E/1"],
)
def test_invalid_symbols_raise(text: str) -> None:
    with pytest.raises(InvalidSymbol):
        parse_symbol(text)


def test_one_bad_part_spoils_the_field() -> None:
    with pytest.raises(InvalidSymbol, match="nonsense"):
        parse_symbols("G/TBT/N/ARE/703, nonsense")


@given(st.text(max_size=60))
def test_arbitrary_text_raises_only_invalid_symbol(text: str) -> None:
    try:
        parsed = parse_symbols(text)
    except InvalidSymbol:
        return
    for symbol in parsed:
        assert parse_symbol(symbol.symbol) == symbol


@given(
    st.sampled_from(["TBT", "SPS"]),
    st.sampled_from(["EU", "CHN", "USA", "TPKM", "SAU"]),
    st.integers(min_value=1, max_value=99999),
    st.lists(st.tuples(st.sampled_from(["Add", "Corr", "Rev", "Suppl"]), st.integers(1, 99)), max_size=3),
)
def test_rendered_symbols_round_trip(domain: str, member: str, number: int, followups: list[tuple[str, int]]) -> None:
    text = f"G/{domain}/N/{member}/{number}" + "".join(f"/{k}.{n}" for k, n in followups)
    parsed = parse_symbol(text)
    assert parsed.symbol == text
    assert parsed.followups == tuple(followups)
    if followups:
        assert parsed.parent is not None
        assert parse_symbol(parsed.parent).followups == tuple(followups[:-1])
