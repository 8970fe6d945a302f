"""The country registry resolves every way sources name a country, and answers back in both languages."""

from __future__ import annotations

import pytest

from tbt_alert.countries import countries, country, eping_id, is_bri, is_eu, to_alpha3


@pytest.mark.parametrize(
    ("text", "alpha3"),
    [
        ("CN", "CHN"),
        ("chn", "CHN"),
        ("China", "CHN"),
        ("中国", "CHN"),
        ("中华人民共和国", "CHN"),
        ("C156", "CHN"),
        ("C048", "BHR"),
        ("C48", "BHR"),
        ("C682", "SAU"),
        ("Bahrain, Kingdom of", "BHR"),
        ("United Kingdom in respect of Northern Ireland", "GBR"),  # Safety Gate notifying country
        ("Kuwait, the State of", "KWT"),
        ("Saudi Arabia, Kingdom of", "SAU"),
        ("European Union", "EUR"),
        ("EU", "EUR"),
        ("C918", "EUR"),
        ("欧盟", "EUR"),
        ("Chinese Taipei", "TWN"),
        ("中国台湾", "TWN"),
        ("Korea, Republic of", "KOR"),
        ("Republic of Korea", "KOR"),
        ("韩国", "KOR"),
        ("Korea, Democratic People's Republic of", "PRK"),
        ("Hong Kong, China", "HKG"),
        ("United States of America", "USA"),
        ("Russian Federation", "RUS"),
        ("Russia", "RUS"),
        ("Türkiye", "TUR"),
        ("Turkey", "TUR"),
        ("Viet Nam", "VNM"),
        ("Côte d’Ivoire", "CIV"),
        ("Cote d'Ivoire", "CIV"),
        ("Congo", "COG"),
        ("Democratic Republic of the Congo", "COD"),
        ("Gambia, The", "GMB"),
        ("Kyrgyz Republic", "KGZ"),
        ("Lao People's Democratic Republic", "LAO"),
        ("  Malawi ", "MWI"),
        ("沙特阿拉伯", "SAU"),
        ("Netherlands", "NLD"),
    ],
)
def test_names_codes_and_eping_ids_resolve_to_alpha3(text: str, alpha3: str) -> None:
    assert to_alpha3(text) == alpha3


@pytest.mark.parametrize("text", ["", "   ", None, "XX", "Atlantis", "C999", "G/TBT/N/EU/1"])
def test_unknown_names_resolve_to_none(text: str | None) -> None:
    assert to_alpha3(text) is None


def test_every_row_resolves_back_from_its_names_and_codes() -> None:
    for row in countries():
        assert to_alpha3(row.alpha3) == row.alpha3
        if row.alpha2:
            assert to_alpha3(row.alpha2) == row.alpha3
        if row.eping_id:
            assert to_alpha3(row.eping_id) == row.alpha3
        assert to_alpha3(row.name_en) == row.alpha3, row
        assert to_alpha3(row.name_zh) == row.alpha3, row


def test_country_row_in_both_languages() -> None:
    china = country("CHN")
    assert (china.name_en, china.name_zh, china.eping_id, china.wto_member) == ("China", "中国", "C156", True)
    eu = country("eur")
    assert (eu.name_en, eu.name_zh, eu.wto_member, eu.eping_id, eu.eu, eu.bri) == (
        "European Union",
        "欧盟",
        True,
        "C918",
        True,
        False,
    )
    assert country("TWN").name_zh == "中国台湾"


def test_unknown_code_raises_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="'ZZZ'"):
        country("ZZZ")


def test_memberships_and_flags() -> None:
    assert is_eu("DEU")
    assert is_eu("EUR")
    assert not is_eu("GBR")
    assert not is_eu("CHE")
    assert is_bri("RUS")
    assert is_bri("KAZ")
    assert is_bri("SAU")
    assert is_bri("THA")
    assert not is_bri("USA")
    assert not is_bri("JPN")
    assert not is_bri("IND")
    assert not is_bri("CHN")
    assert not is_bri("ITA")  # withdrew in December 2023
    assert eping_id("SAU") == "C682"
    assert eping_id("ARE") == "C784"
    assert eping_id("SRB") is None  # not a WTO member: no ePing member id
    assert country("HKG").wto_member
    assert country("MAC").wto_member
    assert country("TWN").wto_member


def test_registry_counts_match_the_documented_lists() -> None:
    rows = countries()
    assert len(rows) == 250  # 249 ISO 3166-1 entries + the EU
    assert sum(r.wto_member for r in rows) == 166
    assert sum(r.eu for r in rows) == 28  # 27 member states + EUR
    assert 140 <= sum(r.bri for r in rows) <= 160
    assert len({r.eping_id for r in rows if r.eping_id}) == 166
