"""The query API against one live index of the test measures: each filter, facet, sort and the text search.

Expected results are computed in Python from the same records (an oracle independent of
Elasticsearch), so a filter that silently matches nothing, or everything, fails.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schema.ids import measure_id
from search.query import SearchRequest, search_measures
from tbt_alert.countries import country
from tbt_alert.errors import SearchError
from tests.search.conftest import TAGS, SearchEnv, records

AS_OF = dt.date(2025, 7, 1)


def _records() -> list[dict[str, Any]]:
    return records()


def _rid(r: dict[str, Any]) -> str:
    return measure_id(r["source_id"], r["source_key"])


def _expect(pred: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {_rid(r) for r in _records() if pred(r)}


def _search(env: SearchEnv, es: Any, **request: Any) -> Any:
    return search_measures(es, env.settings, SearchRequest(size=100, **request))


def _ids(env: SearchEnv, es: Any, **request: Any) -> set[str]:
    return {h.id for h in _search(env, es, **request).hits}


def _date(r: dict[str, Any]) -> dt.date | None:
    value = r.get("published_on") or r.get("distributed_on")
    return dt.date.fromisoformat(str(value)) if value else None


def _deadline(r: dict[str, Any]) -> dt.date | None:
    return dt.date.fromisoformat(str(r["comment_deadline"])) if r.get("comment_deadline") else None


FILTERS: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ("countries", {"countries": ["RUS", "Malawi"]}, lambda r: r.get("country") in {"RUS", "MWI"}),
    ("bri_only", {"bri_only": True}, lambda r: bool(r.get("country")) and country(r["country"]).bri),
    ("eu_only", {"eu_only": True}, lambda r: bool(r.get("country")) and country(r["country"]).eu),
    ("sectors", {"sectors": ["toys"]}, lambda r: any(s == "toys" for s, _, _ in TAGS.get(r["source_key"], []))),
    ("hs_prefix", {"hs_prefix": "0511"}, lambda r: any(c.startswith("0511") for c in r.get("hs_codes") or [])),
    ("kinds", {"kinds": ["standard"]}, lambda r: r["kind"] == "standard"),
    ("languages", {"languages": ["ru"]}, lambda r: r.get("language") == "ru"),
    (
        "dates",
        {"date_from": dt.date(2021, 1, 1), "date_to": dt.date(2021, 12, 31)},
        lambda r: (d := _date(r)) is not None and d.year == 2021,
    ),
    (
        "open_for_comment",
        {"open_for_comment": True, "as_of": AS_OF},
        lambda r: (d := _deadline(r)) is not None and d >= AS_OF,
    ),
    (
        "closed_for_comment",
        {"open_for_comment": False, "as_of": AS_OF},
        lambda r: (d := _deadline(r)) is None or d < AS_OF,
    ),
    (
        "deadline_within_days",
        {"deadline_within_days": 45, "as_of": AS_OF},
        lambda r: (d := _deadline(r)) is not None and AS_OF <= d <= AS_OF + dt.timedelta(days=45),
    ),
    ("risk_levels", {"risk_levels": ["serious"]}, lambda r: r.get("risk_level") == "serious"),
    ("origin_china", {"origin_china": True}, lambda r: r.get("country_of_origin") == "CHN"),
]


@pytest.mark.parametrize(("name", "request_", "pred"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter(shared_index: SearchEnv, es: Any, name: str, request_: dict[str, Any], pred: Any) -> None:
    expected = _expect(pred)
    assert expected, f"the test data has no measure for the {name} filter"
    assert len(expected) < len(_records()), f"the {name} filter would not filter anything"
    assert _ids(shared_index, es, **request_) == expected


def test_filters_combine(shared_index: SearchEnv, es: Any) -> None:
    found = _ids(shared_index, es, q="阻燃", sectors=["toys"], countries=["RUS"], open_for_comment=True,
                 as_of=dt.date(2026, 11, 29))  # fmt: skip
    assert found == {shared_index.ids["CONSTRUCTED-ZH-1"]}


def test_country_names_are_accepted_and_unknown_ones_refused() -> None:
    assert SearchRequest(countries=["Russian Federation", "俄罗斯", "deu"]).countries == ["RUS", "RUS", "DEU"]
    with pytest.raises(ValidationError, match="unknown country"):
        SearchRequest(countries=["Atlantis"])
    with pytest.raises(ValidationError, match="HS prefix"):
        SearchRequest(hs_prefix="95ab")


def test_facets_count_what_the_results_hold(shared_index: SearchEnv, es: Any) -> None:
    result = _search(shared_index, es, as_of=AS_OF)
    facets = {name: {b.key: b.count for b in buckets} for name, buckets in result.facets.items()}
    rs = _records()
    assert result.total == len(rs)
    assert facets["countries"] == dict(Counter(r["country"] for r in rs if r.get("country")))
    assert facets["kinds"] == dict(Counter(r["kind"] for r in rs))
    assert facets["years"] == dict(Counter(str(d.year) for r in rs if (d := _date(r))))
    assert facets["sectors"] == dict(Counter(s for tags in TAGS.values() for s in {t[0] for t in tags}))
    assert facets["bri"]["true"] == sum(1 for r in rs if r.get("country") and country(r["country"]).bri)
    assert facets["open_for_comment"] == {"open": sum(1 for r in rs if (d := _deadline(r)) and d >= AS_OF)}
    assert facets["languages"]["ar"] == 1
    assert facets["languages"]["ru"] == 2
    assert list(facets["years"]) == sorted(facets["years"], reverse=True)


def test_facets_follow_the_filters(shared_index: SearchEnv, es: Any) -> None:
    result = _search(shared_index, es, sectors=["toys"])
    assert {b.key: b.count for b in result.facets["sectors"]} == {"toys": 4}


@pytest.mark.parametrize(
    ("q", "key"),
    [
        ("阻燃", "CONSTRUCTED-ZH-1"),  # Chinese, split per character by the standard analyzer
        ("玩具安全", "CONSTRUCTED-ZH-1"),
        ("Умное производство", "b855d61f-af76-49f1-9ffe-128ee2bc5fa8"),  # Russian
        ("затворы", "488b5cd9-9474-4920-8fb3-f6f298ad9084"),  # case-insensitive Cyrillic
        ("السلطة", "SR/00581/26"),  # Arabic (a corrigendum version)
        ("Справа", "SR/00581/26"),  # Ukrainian version of the same alert
        ("airbags Takata", "SR/00581/26"),  # French original
        ("G/TBT/N/SAU/1437", "G/TBT/N/SAU/1437"),  # a document symbol
        ("cadmium nickel", "A12/00817/21"),
    ],
)
def test_text_in_every_script_is_found(shared_index: SearchEnv, es: Any, q: str, key: str) -> None:
    assert shared_index.ids[key] in _ids(shared_index, es, q=q)


def test_chinese_runs_are_phrases(shared_index: SearchEnv, es: Any) -> None:
    # 燃阻 has both characters of 阻燃, in the other order: not the same word.
    assert _ids(shared_index, es, q="燃阻") == set()
    assert _ids(shared_index, es, q="阻燃") == {shared_index.ids["CONSTRUCTED-ZH-1"]}


def test_boolean_words(shared_index: SearchEnv, es: Any) -> None:
    drum, ring = shared_index.ids["A12/00839/21"], shared_index.ids["A12/00817/21"]
    either = _ids(shared_index, es, q="drum OR cadmium")
    assert {drum, ring} <= either
    assert _ids(shared_index, es, q="drum AND cadmium") == set()
    assert drum not in _ids(shared_index, es, q="toy NOT drum")


def test_highlighting_marks_the_match_and_escapes_html(shared_index: SearchEnv, es: Any) -> None:
    hit = next(h for h in _search(shared_index, es, q="cadmium").hits if h.id == shared_index.ids["A12/00817/21"])
    assert any("<mark>cadmium</mark>" in f.lower() for f in hit.highlights["hazard"])
    zh = _search(shared_index, es, q="阻燃").hits[0]
    assert zh.highlights["title"] == ["玩具安全 第3部分：<mark>阻燃</mark>性能"]
    arabic = _search(shared_index, es, q="السلطة").hits[0]
    assert any("<mark>السلطة</mark>" in f for f in arabic.highlights["translations.text"])


@pytest.mark.parametrize("hs", ["9503", "950300", "9503.00", "95"])
def test_hs_prefix(shared_index: SearchEnv, es: Any, hs: str) -> None:
    assert _ids(shared_index, es, hs_prefix=hs) == {shared_index.ids["CONSTRUCTED-ZH-1"]}


NASTY = [
    '"', '""', "(", ")", "((", "a:b", "title:toy", "/", "\\", "*", "~", "^", "AND", "OR", "NOT", "AND OR",
    "toy AND", "OR toy", '" ( ) : / \\ * ~ ^ AND OR', "toy~10000", "^3", "[1 TO 5]", "{", "}", "<>", "&&", "||",
    "!", "-", "+", "toy^^^", "阻燃\"", '"阻燃', "\x00", "\ufffd", "ا ل س", "%", "#", "?", "'", "';DROP TABLE x;--",
    "9" * 500, "toy " * 200,
]  # fmt: skip


@pytest.mark.parametrize("q", NASTY)
def test_special_characters_never_fail(shared_index: SearchEnv, es: Any, q: str) -> None:
    result = _search(shared_index, es, q=q)
    assert 0 <= result.total <= len(_records())
    assert len(result.hits) <= result.total


def test_sort_by_date_and_deadline(shared_index: SearchEnv, es: Any) -> None:
    by_date = [h.fields.get("date") for h in _search(shared_index, es, sort="date").hits]
    assert by_date == sorted(by_date, reverse=True)
    open_ = _search(shared_index, es, sort="deadline", open_for_comment=True, as_of=AS_OF).hits
    deadlines = [h.fields["comment_deadline"] for h in open_]
    assert deadlines == sorted(deadlines)
    assert all(h.open_for_comment for h in open_)


@pytest.mark.parametrize("sort", ["relevance", "date", "deadline"])
def test_search_after_pages_through_everything_once(shared_index: SearchEnv, es: Any, sort: str) -> None:
    seen: list[str] = []
    after = None
    for _ in range(20):
        page = search_measures(es, shared_index.settings, SearchRequest(sort=sort, size=5, search_after=after))
        seen += [h.id for h in page.hits]
        after = page.search_after
        if after is None:
            break
    assert len(seen) == len(set(seen)) == len(_records())


def test_page_numbers_and_their_limit(shared_index: SearchEnv, es: Any) -> None:
    first = search_measures(es, shared_index.settings, SearchRequest(sort="date", size=10, page=1))
    second = search_measures(es, shared_index.settings, SearchRequest(sort="date", size=10, page=2))
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}
    with pytest.raises(SearchError, match="search_after"):
        search_measures(es, shared_index.settings, SearchRequest(size=100, page=101))


def test_missing_index_says_what_to_run(es: Any, make_settings: Any, index_prefix: str) -> None:
    settings = make_settings(TBT_INDEX_PREFIX=index_prefix)
    with pytest.raises(SearchError, match="tbt-alert index rebuild"):
        search_measures(es, settings, SearchRequest(q="toy"))


@settings(max_examples=60, deadline=None)
@given(q=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=80))
def test_any_text_is_answered(shared_index: SearchEnv, es: Any, q: str) -> None:
    result = _search(shared_index, es, q=q)
    assert 0 <= result.total <= len(_records())
