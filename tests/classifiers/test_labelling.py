"""Health Canada and Safety Gate labelling: broad categories split by the product's name,
samples unchanged.

The records here are constructed (titles modelled on real Health Canada recalls and Safety
Gate alerts, marked `constructed` in their id); they exercise classifiers/labelling.yml as
committed.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from classifiers.hazards import ChemicalHazards
from classifiers.taxonomy import load_taxonomy
from classifiers.training_data import _cap, _labelling, health_canada, safety_gate


def _labels(tmp_path: Path, rows: list[tuple[str, str]]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]]:
    records = [
        {
            "NID": f"constructed-{i}",
            "Organization": "Consumer product safety",
            "Category": category,
            "Title": title,
            "Product": "",
            "Issue": "The battery can overheat, posing a fire hazard.",
        }
        for i, (category, title) in enumerate(rows)
    ]
    folder = tmp_path / "health_canada"
    folder.mkdir()
    (folder / "HCRSAMOpenData_en_until_2025.json.gz").write_bytes(gzip.compress(json.dumps(records).encode()))
    found = health_canada(tmp_path, load_taxonomy(), _labelling()["health_canada"])
    return {r.title: (r.labels, r.sampled_as) for r in found}


@pytest.mark.parametrize(
    ("category", "title", "expected"),
    [
        ("Tools and accessories", "Seasonal LED String Lights recalled due to fire hazard", "lighting"),
        ("Tools and accessories", "Various Uncertified USB Chargers recalled", "electronics_ict"),
        ("Household items - Tools and accessories", "Space Heater recalled due to fire hazard", "household_appliances"),
        ("Tools and accessories", "Portable Generator recalled due to fire hazard", "machinery"),
        ("Tools and accessories", "Lithium-ion Battery Packs recalled", "batteries"),
        # A battery-powered tool is a tool; the issue text ("the battery can overheat") is not read.
        ("Tools and accessories", "Battery Powered Hedge Trimmer recalled", "hardware_tools"),
        ("Tools and accessories", "Cordless Chainsaw recalled due to laceration hazard", "hardware_tools"),
        ("Clothing and accessories", "Toddler Clog-Style Shoes", "footwear_leather"),
        ("Clothing and accessories", "Children's Jewellery Set", "daily_commodities"),
        ("Clothing and accessories", "Crystal Pacifiers", "childcare"),
        ("Clothing and accessories", "Baby Sleep Bags recalled due to choking hazard", "textiles_apparel"),
        ("Clothing and accessories", "Girls' Hooded Sweatshirts", "textiles_apparel"),
    ],
)
def test_broad_categories_are_split_by_title_and_product_words(
    tmp_path: Path, category: str, title: str, expected: str
) -> None:
    labels, sampled_as = _labels(tmp_path, [(category, title)])[title]
    assert labels == (expected,)
    # Sampling goes by the source's own class, so refinement never changes which records are kept.
    assert sampled_as == (("hardware_tools",) if "Tools" in category else ("textiles_apparel",))


def test_cap_samples_by_the_unrefined_class(tmp_path: Path) -> None:
    titles = [f"Holiday Light Set model {i}" for i in range(6)] + [f"Chainsaw model {i}" for i in range(6)]
    labels = _labels(tmp_path, [("Tools and accessories", t) for t in titles])
    found = list(health_canada(tmp_path, load_taxonomy(), _labelling()["health_canada"]))
    assert {labels[r.title][0] for r in found} == {("lighting",), ("hardware_tools",)}
    # One sampled class (hardware_tools before refinement): 5 kept in all. Sampling by the
    # refined labels would keep 5 of each.
    assert len(_cap(found, cap=5, seed=1)) == 5


def _safety_gate_labels(
    tmp_path: Path, category: str, product: str, description: str
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """One constructed alert in a weekly report of the recorded layout."""
    alert = (
        "<notifications><caseNumber>constructed-1</caseNumber>"
        f"<category><![CDATA[{category}]]></category><product><![CDATA[{product}]]></product>"
        "<brand><![CDATA[]]></brand><name><![CDATA[]]></name>"
        f"<description><![CDATA[{description}]]></description></notifications>"
    )
    folder = tmp_path / "safety_gate" / "weekly_reports"
    folder.mkdir(parents=True)
    report = f'<?xml version="1.0" encoding="UTF-8"?><Safety-Gate>{alert}</Safety-Gate>'
    (folder / "constructed.xml.gz").write_bytes(gzip.compress(report.encode()))
    (record,) = safety_gate(tmp_path, load_taxonomy(), _labelling()["safety_gate"])
    return record.labels, record.sampled_as


@pytest.mark.parametrize(
    ("category", "product", "description", "expected", "sampled_as"),
    [
        # A feature in the description ("USB cable", "battery powered", "plastic bag") does not
        # make the product an ICT product, a battery or a bag.
        (
            "Electrical appliances and equipment",
            "Air humidifier",
            "Air humidifier with flame effect and a USB cable.",
            "household_appliances",
            "electronics_ict",
        ),
        (
            "Electrical appliances and equipment",
            "Bicycle light",
            "Plastic battery powered bicycle LED light.",
            "lighting",
            "batteries",
        ),
        (
            "Clothing, textiles and fashion items",
            "Children's jacket",
            "Hooded jacket; the product comes in a transparent plastic bag.",
            "textiles_apparel",
            "daily_commodities",
        ),
        # Older alerts have no product name: their description opens with it.
        (
            "Electrical appliances and equipment",
            "",
            'Universal mains adaptor "FRIWO" (Economi EP2).',
            "electronics_ict",
            "electronics_ict",
        ),
        (
            "Electrical appliances and equipment",
            "Power bank",
            "Power bank with a USB port.",
            "batteries",
            "electronics_ict",
        ),
    ],
)
def test_safety_gate_categories_are_split_by_the_product_name(
    tmp_path: Path, category: str, product: str, description: str, expected: str, sampled_as: str
) -> None:
    labels, sampled = _safety_gate_labels(tmp_path, category, product, description)
    assert labels == (expected,)
    # The sample was drawn with the rules reading name and description: sampling by those
    # labels keeps every split's records.
    assert sampled == (sampled_as,)


def _recorded_alerts(tmp_path: Path, shared_data: Path, *reports: str) -> dict[str, tuple[str, ...]]:
    """Labels of the real alerts in some recorded weekly reports, by case number."""
    folder = tmp_path / "safety_gate" / "weekly_reports"
    folder.mkdir(parents=True)
    for name in reports:
        (folder / name).write_bytes((shared_data / "safety_gate" / "weekly_reports" / name).read_bytes())
    table = _labelling()
    found = safety_gate(
        tmp_path, load_taxonomy(), table["safety_gate"], ChemicalHazards.from_table(table["chemical_hazard"])
    )
    return {r.key.removeprefix("safety_gate:"): r.labels for r in found}


def test_a_chemical_risk_adds_chemicals_plastics_to_the_product_sector(tmp_path: Path, shared_data: Path) -> None:
    alerts = _recorded_alerts(tmp_path, shared_data, "report_10000001.xml.gz", "report_10000009.xml.gz")
    # A12/00948/20: a plastic doll with DEHP and DINP (risk type "Chemical"). TAXONOMY.md:
    # "chemical limits in a named product: also that product's sector".
    assert alerts["A12/00948/20"] == ("chemicals_plastics", "toys")
    # A12/01187/20: a wristwatch (category "Jewellery") releasing nickel. "Jewellery metals
    # (nickel, lead, cadmium) also chemicals_plastics".
    assert alerts["A12/01187/20"] == ("chemicals_plastics", "daily_commodities")
    # A12/00940/20: a skin-lightening lotion with kojic acid is a cosmetic (the cosmetics rules
    # are its chemical rules): not pharma_tcm, and not chemicals_plastics.
    assert alerts["A12/00940/20"] == ("cosmetics",)
    # A12/00954/20: a motorbike with a brake defect (risk "Injuries") gets no second sector.
    assert alerts["A12/00954/20"] == ("auto_parts",)


def test_guide_rules_on_constructed_safety_gate_alerts(tmp_path: Path) -> None:
    rows = [
        ("Decorative articles", "Christmas decoration", ("daily_commodities",), ("furniture_home",)),
        ("Decorative articles", "Scented candle", ("furniture_home",), ("furniture_home",)),
        ("Toys", "Toy make-up set", ("cosmetics", "toys"), ("toys",)),
        (
            "Protective equipment",
            "High-visibility vest",
            ("protective_equipment", "textiles_apparel"),
            ("protective_equipment",),
        ),
        ("Electrical appliances and equipment", "E-bike battery", ("batteries", "sports_leisure"), ("batteries",)),
        ("Childcare articles and children's equipment", "Baby bottle", ("childcare", "food_contact"), None),
        ("Clothing, textiles and fashion items", "Handbag", ("daily_commodities",), None),
    ]
    for i, (category, product, expected, sampled_as) in enumerate(rows):
        labels, sampled = _safety_gate_labels(tmp_path / str(i), category, product, "")
        assert labels == expected, product
        # The sample stays the one drawn with the earlier tables.
        assert sampled == (sampled_as or expected), product


def test_biocides_and_cosmetics_are_not_pharma_tcm(tmp_path: Path) -> None:
    records = [
        {"NID": "constructed-1", "Organization": "Drugs and health products", "Category": "Drugs",
         "Title": "Hand Sanitizer Gel recalled", "Product": "", "Issue": "Contains methanol."},
        {"NID": "constructed-2", "Organization": "Drugs and health products", "Category": "Drugs",
         "Title": "Day cream SPF 15 recalled", "Product": "", "Issue": "Contamination."},
        {"NID": "constructed-3", "Organization": "Consumer product safety", "Category": "Jewellery",
         "Title": "Children's necklace recalled", "Product": "", "Issue": "Contains lead (measured 2 %)."},
    ]  # fmt: skip
    folder = tmp_path / "health_canada"
    folder.mkdir()
    (folder / "HCRSAMOpenData_en_until_2025.json.gz").write_bytes(gzip.compress(json.dumps(records).encode()))
    table = _labelling()
    found = {
        r.title: r
        for r in health_canada(
            tmp_path, load_taxonomy(), table["health_canada"], ChemicalHazards.from_table(table["chemical_hazard"])
        )
    }
    assert found["Hand Sanitizer Gel recalled"].labels == ("chemicals_plastics",)
    assert found["Day cream SPF 15 recalled"].labels == ("cosmetics",)
    assert found["Children's necklace recalled"].labels == ("chemicals_plastics", "daily_commodities")
    # Sampled by Health Canada's own class, as before.
    assert found["Hand Sanitizer Gel recalled"].sampled_as == ("pharma_tcm",)
