"""The taxonomy file and its HS/ICS lookups, checked against the real HS 2022 nomenclature."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifiers.taxonomy import CROSS_SECTOR, load_taxonomy, normalise_hs, normalise_ics
from tbt_alert.errors import ClassifierError

SECTORS = {
    "textiles_apparel",
    "footwear_leather",
    "toys",
    "childcare",
    "household_appliances",
    "lighting",
    "electronics_ict",
    "batteries",
    "solar_pv",
    "hardware_tools",
    "machinery",
    "auto_parts",
    "sports_leisure",
    "medical_devices",
    "protective_equipment",
    "pharma_tcm",
    "food_agri",
    "food_contact",
    "cosmetics",
    "chemicals_plastics",
    "furniture_home",
    "daily_commodities",
    "building_materials",
    "metal_products",
    "ships_marine",
    "cross_sector",
}


def _hs_rows(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "hs" / "datasets_harmonized-system__harmonized-system.csv"
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_all_26_sectors_with_names_and_two_sentence_descriptions() -> None:
    taxonomy = load_taxonomy()
    assert set(taxonomy.codes) == SECTORS
    for sector in taxonomy.sectors:
        assert sector.name_zh
        assert sector.name_en
        assert sector.description_en.count(". ") >= 1
        assert sector.description_en.endswith(".")
        assert sector.description_zh.count("。") == 2
        languages = {"en", "zh", "fr", "de", "es", "ru", "ja", "ko", "ar", "vi", "pt", "it", "pl", "tr"}
        assert set(sector.keywords) == languages


def test_every_hs_chapter_maps_to_a_sector_or_is_out_of_scope(shared_data: Path) -> None:
    taxonomy = load_taxonomy()
    chapters = {f"{n:02d}" for n in range(1, 98)}
    for chapter in sorted(chapters):
        assert taxonomy.sectors_for_hs(chapter) or chapter in taxonomy.out_of_scope_hs, chapter
    in_nomenclature = {row["hscode"][:2] for row in _hs_rows(shared_data) if row["hscode"].isdigit()}
    assert in_nomenclature <= chapters | set(taxonomy.out_of_scope_hs)


def test_every_heading_and_subheading_resolves(shared_data: Path) -> None:
    taxonomy = load_taxonomy()
    unresolved = [
        row["hscode"]
        for row in _hs_rows(shared_data)
        if row["level"] in ("4", "6")
        and not taxonomy.sectors_for_hs(row["hscode"])
        and row["hscode"][:2] not in taxonomy.out_of_scope_hs
    ]
    assert unresolved == []


def test_listed_hs_prefixes_exist_in_the_nomenclature(shared_data: Path) -> None:
    codes = {row["hscode"] for row in _hs_rows(shared_data)}
    for sector in load_taxonomy().sectors:
        for prefix in sector.hs:
            assert prefix in codes, (sector.code, prefix)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("850760", {"batteries"}),
        ("8507.60.00", {"batteries"}),
        ("9503", {"toys"}),
        ("854143", {"solar_pv"}),
        ("871160", {"sports_leisure", "auto_parts"}),
        ("3924.10", {"food_contact", "furniture_home", "chemicals_plastics"}),
        ("851631", {"household_appliances"}),
        ("0902", {"food_agri"}),
        ("2206", {"food_agri"}),
        # TAXONOMY.md: paints are chemicals_plastics, lime too; cement is building_materials;
        # "bags and luggage" are daily_commodities (handbags are not footwear_leather).
        ("3210 - Other paints and varnishes", {"chemicals_plastics"}),
        ("3208", {"chemicals_plastics"}),
        ("320890", {"chemicals_plastics"}),
        ("2522", {"chemicals_plastics"}),
        ("2523", {"building_materials"}),
        ("4202", {"daily_commodities"}),
        ("420221", {"daily_commodities"}),
        ("3917", {"building_materials", "chemicals_plastics"}),
        ("7005", {"building_materials"}),
        ("85", {"electronics_ict"}),
    ],
)
def test_hs_codes_resolve_to_the_most_specific_rule(code: str, expected: set[str]) -> None:
    assert {s.code for s, _ in load_taxonomy().sectors_for_hs(code)} == expected


@pytest.mark.parametrize("code", ["", "xx", "7", "12345", "ABCD", None, "99.99.99.99.99.99", "2710"])
def test_invalid_or_out_of_scope_hs_codes_give_nothing(code: object) -> None:
    assert load_taxonomy().sectors_for_hs(code) == []


def test_hs_normalisation() -> None:
    assert normalise_hs("8507.60") == "850760"
    assert normalise_hs(" 9503 ") == "9503"
    assert normalise_hs("6109100010") == "610910"  # a national tariff line is cut to the subheading
    assert normalise_hs("950") is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("97.200.50", {"toys"}),
        ("43.020", {"auto_parts"}),
        ("29.220.10", {"batteries"}),
        ("67.250 - Materials in contact with food", {"food_contact"}),
        ("03.120.20", {CROSS_SECTOR}),
        ("35.030", {"electronics_ict", CROSS_SECTOR}),
    ],
)
def test_ics_codes(code: str, expected: set[str]) -> None:
    assert {s.code for s, _ in load_taxonomy().sectors_for_ics(code)} == expected


def test_ics_normalisation_and_garbage() -> None:
    assert normalise_ics("87.040 - Paints and varnishes") == "87.040"
    assert load_taxonomy().sectors_for_ics("not a code") == []


def test_unknown_sector_is_a_clear_error() -> None:
    with pytest.raises(ClassifierError, match="unknown sector"):
        load_taxonomy().sector("plastics")
