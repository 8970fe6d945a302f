"""Chinese queries over measures in other languages (issue 21): the Chinese names every document
carries, and understood queries, against the real Elasticsearch."""

from __future__ import annotations

from typing import Any

from schema.ids import measure_id
from search.documents import measure_document
from search.lifecycle import rebuild_index
from search.names import alias
from search.query import SearchRequest, search_measures
from tbt_alert.countries import applicable_countries
from tests.search.conftest import TAGS, SearchEnv, records


def _search(env: SearchEnv, es: Any, **request: Any) -> Any:
    return search_measures(es, env.settings, SearchRequest(size=100, **request))


def _ids(env: SearchEnv, es: Any, **request: Any) -> set[str]:
    return {h.id for h in _search(env, es, **request).hits}


def _tagged(env: SearchEnv, sector: str) -> set[str]:
    return {env.ids[key] for key, tags in TAGS.items() if any(t[0] == sector for t in tags)}


def _in_market(alpha3: str) -> set[str]:
    return {
        measure_id(r["source_id"], r["source_key"])
        for r in records()
        if alpha3 in applicable_countries(r.get("country"), r.get("extra"))
    }


def test_the_mapping_has_chinese_text_fields(shared_index: SearchEnv, es: Any) -> None:
    mapping = es.indices.get_mapping(index=alias(shared_index.settings, "measures"))
    (properties,) = (m["mappings"]["properties"] for m in mapping.values())
    for field in ("sectors_zh", "markets_zh", "hs_names_zh"):
        assert properties[field]["type"] == "text"
        assert properties[field]["analyzer"] == "standard"  # the .zh sub-field comes with a Chinese analyzer


def test_documents_carry_chinese_names(shared_index: SearchEnv, es: Any) -> None:
    doc = es.get(index=alias(shared_index.settings, "measures"), id=shared_index.ids["A11/00041/21"])["_source"]
    assert doc["sectors_zh"] == ["玩具"]
    assert doc["markets_zh"] == ["法国"]


def test_a_chinese_word_finds_english_measures_through_their_sector_names(shared_index: SearchEnv, es: Any) -> None:
    # Literally, without query understanding: 玩具 is in the sectors_zh of every measure tagged toys.
    assert _ids(shared_index, es, q="玩具", understand=False) == _tagged(shared_index, "toys")
    assert _ids(shared_index, es, q="家用电器", understand=False) == _tagged(shared_index, "household_appliances")
    assert _ids(shared_index, es, q="俄罗斯", understand=False) == _in_market("RUS")


def test_an_understood_sector_ranks_its_measures_first(shared_index: SearchEnv, es: Any) -> None:
    result = _search(shared_index, es, q="玩具")
    toys = _tagged(shared_index, "toys")
    assert {h.id for h in result.hits[: len(toys)]} == toys
    assert result.interpretation is not None
    assert [item.key for item in result.interpretation.items] == ["sector:toys"]


def test_a_named_country_filters_and_the_undo_lifts_it(shared_index: SearchEnv, es: Any) -> None:
    understood = _search(shared_index, es, q="俄罗斯 玩具")
    assert [item.key for item in understood.interpretation.items] == ["country:RUS", "sector:toys"]
    assert {h.id for h in understood.hits} == _tagged(shared_index, "toys") & _in_market("RUS")
    without_country = _ids(shared_index, es, q="俄罗斯 玩具", ignore=["country:RUS"])
    literal = _search(shared_index, es, q="俄罗斯 玩具", understand=False)
    assert literal.interpretation is None
    # Undone, 俄罗斯 is a word again: found in the markets' Chinese names, so still Russia's toys here.
    assert {h.id for h in literal.hits} == without_country == _tagged(shared_index, "toys") & _in_market("RUS")
    assert _ids(shared_index, es, q="德国 玩具") == set()  # no toy measure of Germany in the test data
    assert _ids(shared_index, es, q="德国 玩具", ignore=["country:DEU"]) == set()  # 德国 as a word: none either


def test_a_chinese_hazard_finds_english_text(shared_index: SearchEnv, es: Any) -> None:
    assert shared_index.ids["A12/00817/21"] in _ids(shared_index, es, q="镉")  # cadmium in an English recall
    assert _ids(shared_index, es, q="镉", understand=False) == set()


def _row(**changes: Any) -> dict[str, Any]:
    record = next(r for r in records() if r["source_key"] == "crn:25_03831")
    return {**record, "id": "m1", "hs_codes": [], **changes}


SUGGESTED = [
    {"code": "321090", "score": 0.9, "name_zh": "其他油漆及清漆", "name_en": "Other paints"},
    {"code": "320910", "score": 0.2, "name_zh": "以丙烯酸聚合物为基料者", "name_en": "Acrylic"},
]


def test_hs_names_above_the_threshold_only_and_never_beside_declared_codes() -> None:
    doc = measure_document(_row(hs_suggested=SUGGESTED), hs_min_score=0.5)
    assert doc["hs_names_zh"] == ["其他油漆及清漆"]
    assert measure_document(_row(hs_suggested=SUGGESTED), hs_min_score=None)["hs_names_zh"] == []
    declared = measure_document(_row(hs_suggested=SUGGESTED, hs_codes=["3210"]), hs_min_score=0.5)
    assert declared["hs_names_zh"] == []


def test_a_chinese_hs_name_finds_the_measure_it_was_suggested_for(
    es: Any, search_env: SearchEnv, make_settings: Any
) -> None:
    from tests.search.test_hs_suggested import _suggest, _with_min_score

    env = _with_min_score(search_env, make_settings)
    ids = env.ids
    _suggest(env.engine, ids)
    rebuild_index(env.settings, client=es)
    # 851660 电烤箱…: suggested for 13117 at 0.72 (above 0.5) and for 18218 at 0.30 (below).
    assert _ids(env, es, q="电烤箱", understand=False) == {ids["13117"]}
    assert _ids(env, es, q="烹饪器具", understand=False) == {ids["18218"]}  # 732111 at 0.81
    # crn:25_03831 lists HS 3210 itself: its suggestion 851671 (电热水壶…) is not searched.
    assert ids["crn:25_03831"] not in _ids(env, es, q="咖啡壶", understand=False)
