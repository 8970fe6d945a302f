"""Recall-source parsers (Safety Gate, CPSC, Health Canada, ACCC) against recorded responses,
bad records, changed structures and arbitrary input."""

from __future__ import annotations

import copy
import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawlers.parsers import get_parser
from crawlers.sources import load_source
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import Case, cases, expected, meta, only_documented_errors

SOURCES = ("eu_safety_gate", "us_cpsc", "ca_health_canada", "au_accc")
ALL_CASES = [case for source in SOURCES for case in cases(source)]
# Cases whose expected output holds items (the empty CPSC answer and the report list hold none).
ITEM_CASES = [case for case in ALL_CASES if case.name not in {"empty_result", "weekly_list"}]


@pytest.mark.parametrize("case", ITEM_CASES, ids=lambda c: f"{c.source}-{c.name}")
def test_a_missing_or_an_unexpected_field_fails_the_comparison(case: Case) -> None:
    want = expected(case)
    got = case.run()
    missing = copy.deepcopy(got)
    del missing["items"][0]["title"]
    unexpected = copy.deepcopy(got)
    unexpected["items"][0]["surprise"] = 1
    assert missing != want
    assert unexpected != want


def test_fixture_metadata_names_provenance_and_constructed_cases() -> None:
    for source in SOURCES:
        data = meta(source)
        assert data["provenance"]
        assert all("constructed" in c for c in data["cases"])
    assert [c["constructed"] for c in meta("ca_health_canada")["cases"]] == [True]


def test_safety_gate_alert_fields() -> None:
    items = cases("eu_safety_gate")[1].run()["items"]
    first = items[0]
    assert first["kind"] == "recall"
    assert first["source_key"]
    assert "/" in first["source_key"]
    assert first["country"]
    assert len(first["country"]) == 3
    assert first["risk_level"] in {"serious", "other", "information"}
    assert first["raw_payload"].startswith("<notifications")
    assert first["raw_payload"].endswith("</notifications>")
    origins = {i["country_of_origin"] for i in items}
    assert "CHN" in origins


def test_safety_gate_unknown_origin_stays_unknown_and_new_values_are_quarantined() -> None:
    config = load_source("eu_safety_gate")
    body = gzip.decompress(cases("eu_safety_gate")[1].response.read_bytes())
    text = body.decode()
    first_origin = text.index("<countryOfOrigin>")
    end = text.index("</countryOfOrigin>", first_origin)
    changed = text[:first_origin] + "<countryOfOrigin>Unknown" + text[end:]
    result = get_parser("eu_safety_gate")(changed.encode(), "u", config)
    assert result.items[0].country_of_origin is None
    bad = text.replace("<notifyingCountry>", "<notifyingCountry>Atlantis", 1)
    result = get_parser("eu_safety_gate")(bad.encode(), "u", config)
    assert len(result.rejected) == 1
    assert result.rejected[0].field == "notifyingCountry"
    assert "Atlantis" in result.rejected[0].reason
    assert result.rejected[0].raw_payload.startswith("<notifications")


def test_cpsc_manufacturer_country_and_bad_record() -> None:
    config = load_source("us_cpsc")
    body = cases("us_cpsc")[0].response.read_bytes()
    records = json.loads(body)
    records[1]["ManufacturerCountries"] = [{"Country": "China (BPB002 and PB0003)"}]
    records[2]["RecallDate"] = "yesterday"
    result = get_parser("us_cpsc")(json.dumps(records).encode(), "u", config)
    assert [i.country_of_origin for i in result.items] == ["USA", "CHN"]
    assert [(r.record_key, r.field) for r in result.rejected] == [(records[2]["RecallNumber"], "RecallDate")]


def test_health_canada_french_titles_merge() -> None:
    from crawlers.sources.ca_health_canada.parser import french_titles, with_french

    config = load_source("ca_health_canada")
    item = get_parser("ca_health_canada")(cases("ca_health_canada")[0].body(), config.base_urls["en"], config).items[0]
    french = french_titles(
        json.dumps([{"NID": item.source_key, "Titre": "Rappel", "URL": "https://x/fr/y"}]).encode(), config
    )
    merged = with_french(item, french)
    assert merged.extra["title_fr"] == "Rappel"
    assert merged.documents == {"en": item.documents["en"], "fr": "https://x/fr/y"}


def test_accc_follows_links_next() -> None:
    result = cases("au_accc")[0].run()
    assert result["follow"] == [
        "https://www.productsafety.gov.au/jsonapi/node/psa_recall?page%5Boffset%5D=4995&page%5Blimit%5D=5"
    ]


@pytest.mark.parametrize(
    ("source", "body", "field"),
    [
        ("eu_safety_gate", b"<html><body>Maintenance</body></html>", "Safety-Gate"),
        ("eu_safety_gate", b"<Safety-Gate><notifications/></Safety-Gate>", "report_language"),
        ("us_cpsc", b'{"error": "busy"}', "body"),
        ("ca_health_canada", b'[{"Id": 1}]', "NID"),
        ("au_accc", b'{"data": []}', "links"),
        ("au_accc", b'{"data": {}, "links": {}}', "data"),
    ],
)
def test_changed_structure_names_source_and_field(source: str, body: bytes, field: str) -> None:
    config = load_source(source)
    with pytest.raises(StructureChanged) as info:
        get_parser(source)(body, "https://example.invalid/x", config)
    assert info.value.source == source
    assert info.value.field == field


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_structure_changed(source: str, data: bytes) -> None:
    result = only_documented_errors(source, data, "https://example.invalid/x")
    assert result is None or isinstance(result.items, list)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.source}-{c.name}")
@settings(max_examples=25, deadline=None)
@given(cut=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_responses_raise_only_structure_changed(case: Case, cut: float) -> None:
    body = case.body()
    result = only_documented_errors(case.source, body[: int(len(body) * cut)], case.url)
    assert result is None or len(result.items) <= len(expected(case)["items"])


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_cpsc_like = st.lists(
    st.fixed_dictionaries(
        {"RecallNumber": _json, "Title": _json},
        optional={
            "RecallDate": _json,
            "Products": _json,
            "Hazards": _json,
            "ManufacturerCountries": _json,
            "Remedies": _json,
            "LastPublishDate": _json,
        },
    ),
    max_size=3,
)


@settings(max_examples=80, deadline=None)
@given(records=_cpsc_like)
def test_cpsc_odd_records_are_items_or_rejects(records: list[dict[str, object]]) -> None:
    result = only_documented_errors("us_cpsc", json.dumps(records).encode(), "u")
    assert result is not None
    assert len(result.items) + len(result.rejected) == len(records)


@settings(max_examples=80, deadline=None)
@given(
    records=st.lists(
        st.dictionaries(
            st.sampled_from(["NID", "Title", "Recall class", "Last updated", "Archived", "URL", "Other"]), _json
        ),
        max_size=3,
    )
)
def test_health_canada_odd_records_never_escape(records: list[dict[str, object]]) -> None:
    only_documented_errors("ca_health_canada", json.dumps(records).encode(), "u")


@settings(max_examples=80, deadline=None)
@given(page=st.fixed_dictionaries({"data": st.lists(_json, max_size=3), "links": _json}))
def test_accc_odd_pages_never_escape(page: dict[str, object]) -> None:
    only_documented_errors("au_accc", json.dumps(page).encode(), "u")
