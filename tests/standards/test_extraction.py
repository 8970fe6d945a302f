"""Cited standards: normalisation of each family, lists, and the look-alikes that must not count."""

from __future__ import annotations

import pytest

from classifiers.standards import cited_standards, record_standards, standard_key


def codes(text: str) -> list[str]:
    return [s.code for s in cited_standards(text)]


def test_en_with_edition_and_amendment_is_normalised() -> None:
    (standard,) = cited_standards("tested to EN 71-3:2019+A1:2021")
    assert (standard.body, standard.number, standard.part, standard.year) == ("EN", "71", "3", 2019)
    assert standard.amendment == "A1:2021"
    assert standard.key == "EN 71"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("does not comply with EN 71-1, -2 and -3.", ["EN 71-1", "EN 71-2", "EN 71-3"]),
        ("European standards EN 60335-1 and 60335-2-30.", ["EN 60335-1", "EN 60335-2-30"]),
        ("the European standard EN 60598 part 1 and part 2-20.", ["EN 60598-1", "EN 60598-2-20"]),
        ("European standards EN 12586 and 71-1.", ["EN 12586", "EN 71-1"]),
        ("relevant European standards EN-60335 and EN-50088.", ["EN 60335", "EN 50088"]),
    ],
)
def test_lists_give_every_standard(text: str, expected: list[str]) -> None:
    assert codes(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "key", "adopted_by"),
    [
        ("national standards BSEN 60950", "BS EN 60950", "EN 60950", "BS"),
        ("UNE-EN 60335-2-30", "UNE EN 60335-2-30", "EN 60335", "UNE"),
        ("DIN EN ISO 20345:2011", "DIN EN ISO 20345:2011", "ISO 20345", "DIN EN"),
        ("ГОСТ Р ИСО 9001-2015", "GOST R ISO 9001:2015", "ISO 9001", "GOST R"),
        ("ANSI/CAN/UL 2272 -- Standard for Electrical Systems", "ANSI UL 2272", "UL 2272", "ANSI"),
        ("US EAS 96:2008", "US EAS 96:2008", "EAS 96", "US"),
        ("the standard EN IEC 62368", "EN IEC 62368", "IEC 62368", "EN"),
    ],
)
def test_national_adoptions_keep_the_standard_and_the_prefix(text: str, code: str, key: str, adopted_by: str) -> None:
    (standard,) = cited_standards(text)
    assert (standard.code, standard.key, standard.adopted_by) == (code, key, adopted_by)


def test_adopting_market_comes_from_the_first_prefix() -> None:
    assert cited_standards("DIN EN ISO 20345:2011")[0].adopting_market == "DEU"
    assert cited_standards("BS EN 71-3")[0].adopting_market == "GBR"
    assert cited_standards("EN 71-3")[0].adopting_market is None


@pytest.mark.parametrize(
    ("text", "code", "key", "year"),
    [
        ("GB 6675.4-2014", "GB 6675.4-2014", "GB 6675.4", 2014),
        ("GB/T 2828.1—2012", "GB/T 2828.1-2012", "GB/T 2828.1", 2012),
        ("ГОСТ Р 51558-2014 Средства", "GOST R 51558-2014", "GOST R 51558", 2014),
        ("Изменение № 1 ГОСТ 31370–2023", "GOST 31370-2023", "GOST 31370", 2023),
        ("ASTM F3096-23, the industry standard", "ASTM F3096-23", "ASTM F3096", 2023),
        ("ASTM D4236-94(2016)", "ASTM D4236-94(2016)", "ASTM D4236", 1994),
        ("the standard SASO 2944", "SASO 2944", "SASO 2944", None),
        ("GSO 2530:2016", "GSO 2530:2016", "GSO 2530", 2016),
        ("QCVN 4:2009/BKHCN", "QCVN 4:2009", "QCVN 4", 2009),
        ("TCVN 6238-3:2011", "TCVN 6238-3:2011", "TCVN 6238", 2011),
        ("DEAS 1206:2023", "DEAS 1206:2023", "DEAS 1206", 2023),
        ("TIS 2394-2550", "TIS 2394-2007", "TIS 2394", 2007),
        ("AS/NZS 3112:2017", "AS/NZS 3112:2017", "AS/NZS 3112", 2017),
        ("JIS C 8303", "JIS C 8303", "JIS C 8303", None),
        ("СТ РК 1234-2010", "ST RK 1234-2010", "ST RK 1234", 2010),
        ("СТБ 1035-96", "STB 1035-1996", "STB 1035", 1996),
        ("ГОСТ 12.1.004-91", "GOST 12.1.004-1991", "GOST 12.1.004", 1991),
        ("ISO/IEC 17025", "ISO/IEC 17025", "ISO/IEC 17025", None),
        ("Руководство по применению стандарта ИСО 14064-1", "ISO 14064-1", "ISO 14064", None),
    ],
)
def test_each_family_is_normalised(text: str, code: str, key: str, year: int | None) -> None:
    (standard,) = cited_standards(text)
    assert (standard.code, standard.key, standard.year) == (code, key, year)


@pytest.mark.parametrize(
    "text",
    [
        "King Song KS-16S Electric Unicycle Battery recalled",  # a model
        "STIHL MS 361C chain saws (C-Q version)",
        "STIHL MS 361 chain saws",
        "e1*KS07/46*0056*00",  # a type-approval number
        "Federal Service No. FS-KS-7/6582-3",
        "Power-7 USB Wall Charger Model US2018",
        "Da Vinci Surgical System - IS3000",
        "the US 2019 regulation covers 8516 60",  # a country, an HS code
        "it contains 0,15 % by weight of DINP",
        "mains cable 227 IEC 52(RVV) 300/300 2X0.75mm2",  # a cable type
        "item no. BS 9-3127, barcode 337789010024",
        "Gulf Technical Regulation No. ECE 141:2017",
        "16 GB memory, model GB 12",
        "EN 71302152D",
        # Safety Gate model and batch fields: a model "GB001-02", batches "BSA16112", "ENW0121", a motorbike "RS50".
        "Ref.: GB001-02, Giga Ball (small model)",
        "Model Party Popper, No BSA16112",
        "ENW0121",
        "DERBI GPR 50/125, APRILIA RS50, GILERA SC125",
    ],
)
def test_look_alikes_are_not_standards(text: str) -> None:
    assert cited_standards(text) == []


def test_ambiguous_designations_count_with_a_standards_word_or_a_year() -> None:
    assert codes("complies with the Kenya standard KS 2160") == ["KS 2160"]
    assert codes("IS 1293:2019") == ["IS 1293:2019"]
    assert codes("Malaysian Standard MS 1578") == ["MS 1578"]


def test_record_standards_reads_every_text_field_once() -> None:
    record = {"title": "Heaters: IEC 60335-2-30", "hazard": "fails IEC 60335-2-30 and EN 60335-1", "products": None}
    assert [s.code for s in record_standards(record)] == ["IEC 60335-2-30", "EN 60335-1"]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("IEC 60335", "IEC 60335"),
        ("IEC 60335-2-30:2019", "IEC 60335"),
        ("ГОСТ Р 51558", "GOST R 51558"),
        ("KS 2160", "KS 2160"),
        ("heaters", None),
    ],
)
def test_standard_key_reads_a_query(query: str, key: str | None) -> None:
    assert standard_key(query) == key


@pytest.mark.parametrize(
    ("text", "codes_", "market"),
    [
        ("产品应符合GB 31701标准的要求", ["GB 31701"], None),  # no space around a Chinese sentence
        ("执行标准：GB 4706.1-2005、GB 4706.9-2008", ["GB 4706.1-2005", "GB 4706.9-2008"], None),
        ("SASO IEC 60335-2-30:2019", ["SASO IEC 60335-2-30:2019"], "SAU"),
        ("GSO ISO 8124-1:2018", ["GSO ISO 8124-1:2018"], "GCC"),
        ("KS C IEC 60335-1", ["KS C IEC 60335-1"], "KOR"),
        ("KS EAS 96:2008", ["KS EAS 96:2008"], "KEN"),
        ("ГОСТ IEC 60335-1-2015", ["GOST IEC 60335-1:2015"], "EAEU"),
    ],
)
def test_more_national_forms(text: str, codes_: list[str], market: str | None) -> None:
    found = cited_standards(text)
    assert [s.code for s in found] == codes_
    assert found[0].adopting_market == market
