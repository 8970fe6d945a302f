"""Safety Gate per-alert API parser: three real French alerts, strict category lookup, arbitrary input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import load_source
from crawlers.sources.eu_safety_gate_api.parser import parse
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases, only_documented_errors

SOURCE = "eu_safety_gate_api"
URL = "https://ec.europa.eu/safety-gate-alerts/public/api/notification/10098375?language=fr"


def test_french_texts_are_kept_with_origin_and_language() -> None:
    [item] = cases(SOURCE)[0].run()["items"]
    assert (item["source_key"], item["language"], item["country_of_origin"]) == ("SR/00939/26@fr", "fr", "CHN")
    assert item["hazard"].startswith("Le produit a de petites pièces")
    assert item["title_en"] is None  # a French response carries no English title


def test_an_unknown_category_quarantines_the_alert() -> None:
    alert = json.loads(cases(SOURCE)[0].body())
    alert["product"]["productCategory"]["name"] = "SPACESHIPS"
    result = parse(json.dumps(alert).encode(), URL, load_source(SOURCE))
    assert result.items == []
    [rejected] = result.rejected
    assert rejected.field == "category"
    assert "SPACESHIPS" in rejected.reason


def test_english_response_sets_the_english_title() -> None:
    alert = json.loads(cases(SOURCE)[2].body())
    alert["product"]["versions"][0]["language"]["key"] = "EN"
    [item] = parse(json.dumps(alert).encode(), URL.replace("language=fr", "language=en"), load_source(SOURCE)).items
    assert item.title_en == item.title
    assert item.source_key == "SR/00484/26@en"


@pytest.mark.parametrize("body", [b"", b"<html/>", b"[]", b'{"id": 1}', b'{"reference": "x", "product": {}}'])
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=10,
)
_top = st.fixed_dictionaries(
    {"id": _json, "reference": _json, "product": _json},
    optional=dict.fromkeys(
        (
            "risk",
            "measureTaken",
            "traceability",
            "country",
            "publicationDate",
            "reactingCountries",
            "versions",
            "webReport",
        ),
        _json,
    ),
)


@settings(max_examples=200, deadline=None)
@given(_top)
def test_arbitrary_alerts_are_an_item_or_a_reject(alert: dict[str, object]) -> None:
    result = only_documented_errors(SOURCE, json.dumps(alert).encode(), URL)
    assert result is not None
    assert len(result.items) + len(result.rejected) == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=20_000))
def test_truncated_alerts(cut: int) -> None:
    body = cases(SOURCE)[1].body()
    only_documented_errors(SOURCE, body[: cut % len(body)], URL)
