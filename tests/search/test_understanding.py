"""The query recogniser (search.understanding) and how build_query applies what it read: pure unit
tests, no Elasticsearch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from search.query import SearchRequest, build_query
from search.understanding import interpret
from tbt_alert.countries import countries

# Issue 21's nine everyday queries and the sector each one means.
NINE = {
    "玩具": "toys",
    "汽车零部件": "auto_parts",
    "化妆品": "cosmetics",
    "食品": "food_agri",
    "家用电器": "household_appliances",
    "充电器 电子产品": "electronics_ict",
    "医疗器械": "medical_devices",
    "机械设备": "machinery",
    "化学品": "chemicals_plastics",
}


def _keys(q: str, ignore: tuple[str, ...] = ()) -> list[str]:
    return [item.key for item in interpret(q, ignore).items]


@pytest.mark.parametrize(("q", "sector"), NINE.items())
def test_the_nine_queries_name_their_sector_and_nothing_else(q: str, sector: str) -> None:
    reading = interpret(q)
    assert [item.key for item in reading.items] == [f"sector:{sector}"]
    assert reading.free_text == ""  # 产品, 设备 after a recognised word belong to it


def test_a_country_and_a_sector() -> None:
    reading = interpret("德国 玩具")
    assert [item.key for item in reading.items] == ["country:DEU", "sector:toys"]
    assert reading.summary_zh() == "国家 德国 · 行业 玩具"


def test_traditional_characters_read_as_simplified() -> None:
    reading = interpret("德國 玩具 化妝品")
    assert [item.key for item in reading.items] == ["country:DEU", "sector:toys", "sector:cosmetics"]
    assert reading.query == "德國 玩具 化妝品"  # shown as typed


def test_words_with_accents_or_in_cyrillic_stay_whole() -> None:
    reading = interpret("textiles et Décathlon")
    assert [item.key for item in reading.items] == ["sector:textiles_apparel"]
    assert reading.free_text == "décathlon"  # not "d cathlon et"
    assert interpret("toys Ладога").free_text == "ладога"


def test_french_spanish_and_russian_words_read_through_the_glossary_stems() -> None:
    assert _keys("jouets") == ["sector:toys"]
    assert _keys("игрушки опасность удушья") == ["sector:toys", "hazard:choking"]
    assert _keys("jouets risque d'étouffement") == ["sector:toys", "hazard:choking"]
    assert _keys("bijoux plomb") == ["sector:daily_commodities", "hazard:lead"]
    assert _keys("children's toys") == ["sector:toys"]  # an English possessive is no elision
    assert interpret("children's toys").free_text == "children's"


def test_a_reading_of_several_words_spans_the_spaces() -> None:
    assert _keys("charger electric shock") == ["sector:electronics_ict", "hazard:electric_shock"]
    assert _keys("chargeur choc électrique") == ["hazard:electric_shock"]
    assert _keys("toys small parts") == ["sector:toys", "hazard:small_parts"]


def test_regional_groups_mean_their_members() -> None:
    gulf = interpret("海湾 锂电池").items[0]
    assert (gulf.key, sorted(gulf.codes)) == ("country:GCC", ["ARE", "BHR", "KWT", "OMN", "QAT", "SAU"])
    assert interpret("海合会").items[0].codes == gulf.codes
    eu = interpret("欧盟").items[0]
    assert {"EUR", "DEU", "FRA"} <= set(eu.codes)
    assert set(eu.codes) == {c.alpha3 for c in countries() if c.eu}
    assert _keys("俄罗斯") == ["country:RUS"]


def test_china_is_origin_never_a_country_filter() -> None:
    assert _keys("中国 玩具") == ["origin:CHN", "sector:toys"]


def test_a_single_character_only_as_a_whole_word() -> None:
    assert _keys("茶") == ["sector:food_agri"]
    assert "sector:food_agri" not in _keys("茶杯")  # 茶 inside 茶杯 (a teacup) is not tea


def test_unknown_words_stay_free_text() -> None:
    reading = interpret("阻燃玩具")
    assert _keys("阻燃玩具") == ["sector:toys"]
    assert reading.free_text == "阻燃"
    assert interpret("lead in toys").free_text == ""  # fillers go once something was recognised


def test_a_word_of_two_sectors_is_one_reading() -> None:
    (item,) = interpret("窗帘").items
    assert set(item.codes) == {"textiles_apparel", "furniture_home"}


def test_glossary_hazards_carry_their_words_in_other_languages() -> None:
    (lead, toys) = interpret("lead in toys").items
    assert (lead.key, lead.label_zh) == ("hazard:lead", "铅")
    assert "plomb*" in lead.forms
    assert toys.key == "sector:toys"
    phthalates = interpret("邻苯二甲酸酯").items[0]
    assert {"phthalate*", "фталат*"} <= set(phthalates.forms)


def test_an_hs_name_typed_whole() -> None:
    (item,) = interpret("冷冻牛舌").items
    assert (item.kind, item.codes) == ("hs", ["020621"])


def test_search_syntax_is_taken_literally() -> None:
    for q in ('"玩具"', "toy NOT drum", "toy OR Умное", "玩具 -德国"):
        reading = interpret(q)
        assert reading.items == []
        assert reading.free_text == q


def test_ignored_readings_stay_words() -> None:
    reading = interpret("德国 玩具", ["country:DEU"])
    assert [item.key for item in reading.items] == ["sector:toys"]
    assert reading.free_text == "德国"
    assert reading.ignored == ["country:DEU"]


def _clauses(query: dict[str, Any]) -> str:
    return json.dumps(query, ensure_ascii=False)


def test_build_query_matches_the_sector_by_tag_or_words_and_filters_the_country() -> None:
    query = build_query(SearchRequest(q="德国 玩具"))["bool"]
    assert {"terms": {"markets": ["DEU"]}} in query["filter"]
    (reading,) = query["must"]
    either = reading["bool"]["should"]
    assert reading["bool"]["minimum_should_match"] == 1
    assert {"constant_score": {"filter": {"terms": {"sector_codes": ["toys"]}}, "boost": 10.0}} in either
    # The glossary's forms, one clause over the measure's own text fields.
    (forms,) = [c["simple_query_string"] for c in either if "toy*" in c.get("simple_query_string", {}).get("query", "")]
    assert {"toy*", "jouet*"} <= set(forms["query"].split(" | "))
    assert not any(field.startswith(("sectors_zh", "brand")) for field in forms["fields"])
    assert "德国" not in _clauses(query["must"])  # the country is a filter, not words to find


def test_build_query_without_understanding_searches_the_words() -> None:
    off = (SearchRequest(q="德国 玩具", understand=False), SearchRequest(q="德国 玩具", ignore=["country:DEU"]))
    for request in off:
        query = build_query(request)["bool"]
        assert not any("markets" in json.dumps(f) for f in query["filter"])
    literal = build_query(SearchRequest(q="德国 玩具", understand=False))["bool"]
    (words,) = literal["must"]
    assert words["simple_query_string"]["query"] == '"德国" "玩具"'


def test_a_hazard_is_read_before_the_sector_that_lists_it() -> None:
    # 镉 and 邻苯二甲酸酯 are chemicals keywords too; the reader wants cadmium, not every chemicals measure.
    assert _keys("镉") == ["hazard:cadmium"]
    assert _keys("邻苯二甲酸酯 玩具") == ["hazard:phthalates", "sector:toys"]


def test_a_sector_carries_the_words_of_the_glossary_product_that_is_the_sector() -> None:
    # 锂电池 finds battery recalls in English and French even where nobody tagged them batteries.
    (batteries,) = interpret("锂电池").items
    assert {"batter*", "batterie*"} <= set(batteries.forms)
    # 涂料 (paints) is a chemicals keyword but does not speak for the whole sector.
    assert interpret("化学品").items[0].forms == []


def test_a_single_character_beside_a_recognised_word_belongs_to_it() -> None:
    reading = interpret("电烤箱")
    assert [(item.key, item.text) for item in reading.items] == [("sector:household_appliances", "电烤箱")]
    assert reading.free_text == ""  # 电 alone would have to appear in the measure
    assert interpret("阻燃玩具").free_text == "阻燃"  # two characters are a word of their own
