"""Rosstandart parser: the real registry excerpt, constructed API pages, bad rows and arbitrary input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import load_source
from crawlers.sources.ru_rosstandart.parser import parse
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases, meta, only_documented_errors

SOURCE = "ru_rosstandart"


def test_constructed_cases_are_marked() -> None:
    flags = {c["name"]: c["constructed"] for c in meta(SOURCE)["cases"]}
    assert flags == {"registry_excerpt": False, "api_page_1": True, "api_page_2": True}


def test_registry_excerpt_keeps_russian_text_committee_and_dates() -> None:
    items = cases(SOURCE)[0].run()["items"]
    first = items[0]
    assert first["title"].startswith("Работы отделочные")
    assert first["extra"]["technical_committee_code"] == "ТК 400"
    assert (first["published_on"], first["language"], first["country"]) == ("2026-01-12", "ru", "RUS")
    # the third party's own additions are not source data
    assert all("matched_keywords" not in json.dumps(i["extra"], ensure_ascii=False) for i in items)


def test_page_one_asks_for_the_newest_pages() -> None:
    config = load_source(SOURCE)
    body = json.dumps({"total": "2 741", "rows": []}).encode()
    follow = parse(body, config.base_urls["drafts"], config).follow
    assert [u.rsplit("page=", 1)[1] for u in follow] == ["2741&rows=20", "2740&rows=20", "2739&rows=20"]


def test_bad_rows_are_quarantined() -> None:
    config = load_source(SOURCE)
    rows = [
        {"@rsprsPrns:prns": "<a href='x'>1.2</a>", "@rsprsPrns:draftSt": "X"},
        {
            "@rsprsPrns:prns": "<a href='../rsprs/nds-details?uuid=4dbc1456-c0f0-4c58-bfb3-c61b6f1921ce'>1</a>",
            "@rsprsPrns:draftSt": "Y",
            "@rsprs-nds:submitted-public-discussion-date": "32.13.2026",
        },
    ]
    result = parse(json.dumps({"total": "1", "rows": rows}).encode(), config.base_urls["drafts"], config)
    assert result.items == []
    assert [r.field for r in result.rejected] == ["@rsprsPrns:prns", "start_date"]


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"data": []}', b'{"rows": {}}', b'{"rows": [], "total": "many"}'])
def test_changed_structure(body: bytes) -> None:
    config = load_source(SOURCE)
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, config.base_urls["drafts"], config)


_value = st.none() | st.integers() | st.text(max_size=30) | st.lists(st.text(max_size=5), max_size=2)
_keys = st.sampled_from(
    [
        "@rsprsPrns:prns",
        "@rsprsPrns:draftSt",
        "@rsprs-nds:gostR",
        "@rsprsPrns:tk",
        "@rsprs-nds:submitted-public-discussion-date",
        "id",
        "project_name",
        "start_date",
        "title",
        "attachments",
        "date",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.dictionaries(_keys, _value, max_size=6) | _value, max_size=4), st.sampled_from(["rows", "gost", "sp"])
)
def test_arbitrary_records_are_items_or_rejects(records: list[object], where: str) -> None:
    body = json.dumps({where: records, "total": "1"}).encode()
    result = only_documented_errors(SOURCE, body, load_source(SOURCE).base_urls["drafts"])
    assert result is not None
    assert len(result.items) + len(result.rejected) == len(records)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=30_000), st.binary(max_size=50))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    body = cases(SOURCE)[1].body()
    only_documented_errors(SOURCE, body[: cut % len(body)], "https://fgis.gost.ru/x?page=1")
    only_documented_errors(SOURCE, junk, "https://fgis.gost.ru/x?page=1")
