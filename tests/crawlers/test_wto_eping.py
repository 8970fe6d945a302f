"""ePing getAll parser: the constructed fixture pages, defensive reading, paging, and arbitrary input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import SourceConfig, load_source
from crawlers.sources.wto_eping.parser import parse
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases, meta

URL = (
    "https://epingalert.org/api/v1/azureSearch/getAll?language=1&domainIds=1&sortBy=distributionDate&page=1&pageSize=10"
)


@pytest.fixture(scope="module")
def config() -> SourceConfig:
    return load_source("wto_eping")


def test_fixture_is_marked_constructed() -> None:
    # No public recorded getAll response was found: the pages stay labelled constructed until one is.
    data = meta("wto_eping")
    assert data["constructed"] is True
    assert all(case["constructed"] for case in data["cases"])
    assert "No recorded response" in data["why"]


def test_fixture_pages_cover_both_agreements_follow_ups_and_quarantine() -> None:
    results = [case.run() for case in cases("wto_eping")]
    items = [i for r in results for i in r["items"]]
    assert {i["kind"] for i in items} == {"tbt_notification", "sps_notification"}
    assert len({i["source_key"] for i in items}) == len(items)
    revision = next(i for i in items if i["source_key"] == "G/TBT/N/SAU/1304/Rev.1")
    assert (revision["parent_key"], revision["relation"]) == ("G/TBT/N/SAU/1304", "revision")
    assert sum(len(r["rejected"]) for r in results) >= 1
    assert results[-1]["follow"] == []  # the last SPS page has no next page


def page(*records: dict[str, Any], total: int | None = None) -> bytes:
    body: dict[str, Any] = {"items": list(records)}
    if total is not None:
        body["totalCount"] = total
    return json.dumps(body).encode()


def test_leading_spaces_html_and_absent_fields(config: SourceConfig) -> None:
    record = {
        "id": 4711,
        "documentSymbol": "  G/TBT/N/EU/1234/Add.1 ",
        "title": "<p>Draft regulation on <b>toys</b> &amp; games</p>",
        "hsCodes": ["9503.00", {"code": 9504, "name": "Games"}],
    }
    result = parse(page(record, total=1), URL, config)
    assert result.rejected == []
    [item] = result.items
    assert (item.source_key, item.parent_key, item.relation) == ("G/TBT/N/EU/1234/Add.1", "G/TBT/N/EU/1234", "addendum")
    assert (item.country, item.kind, item.title) == ("EUR", "tbt_notification", "Draft regulation on toys & games")
    assert item.hs_codes == ["950300", "9504"]
    assert item.url == "https://epingalert.org/en/Search?viewData=4711"
    assert item.description is None
    assert item.comment_deadline is None
    assert item.documents == {}
    assert item.extra == {"eping_id": "4711"}


def test_unknown_fields_are_kept_not_dropped(config: SourceConfig) -> None:
    record = {"documentSymbol": "G/SPS/N/CHN/1/Corr.1", "titlePlain": "T", "newField": {"a": 1}}
    [item] = parse(page(record), URL, config).items
    assert item.kind == "sps_notification"
    assert item.extra["unmapped"] == {"newField": {"a": 1}}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"documentSymbol": "G/TBT/N/EU/1"}, "titlePlain"),
        ({"documentSymbol": "not a symbol", "titlePlain": "T"}, "documentSymbol"),
        ({"documentSymbol": "G/TBT/N/EU/1", "titlePlain": "T", "distributionDate": "10 June"}, "distributionDate"),
        ({"documentSymbol": "G/TBT/N/EU/1", "titlePlain": "T", "hsCodes": ["ab"]}, "hsCodes"),
        ({"documentSymbol": "G/TBT/N/EU/1", "titlePlain": "T", "notifyingMember": "Atlantis"}, "notifyingMember"),
        (
            {"documentSymbol": "G/TBT/N/ARE/1, G/TBT/N/BHR/2", "titlePlain": "T", "notifyingMember": "Oman"},
            "documentSymbol",
        ),
        ({"titlePlain": "T", "notifyingMember": "China"}, "documentSymbol"),
    ],
)
def test_bad_records_are_rejected_naming_the_field(config: SourceConfig, record: dict[str, Any], field: str) -> None:
    result = parse(page(record, {"documentSymbol": "G/TBT/N/USA/9", "titlePlain": "fine"}), URL, config)
    assert [i.source_key for i in result.items] == ["G/TBT/N/USA/9"]
    [rejected] = result.rejected
    assert rejected.field == field
    assert "wto_eping" in rejected.reason
    assert json.loads(rejected.raw_payload) == record


def test_joint_gcc_notification_is_keyed_by_the_members_own_symbol(config: SourceConfig) -> None:
    record = {
        "documentSymbol": "G/TBT/N/ARE/703, G/TBT/N/BHR/780",
        "titlePlain": "eCall",
        "notifyingMember": "Bahrain, Kingdom of",
    }
    [item] = parse(page(record), URL, config).items
    assert (item.source_key, item.country) == ("G/TBT/N/BHR/780", "BHR")
    assert item.extra["joint_symbols"] == ["G/TBT/N/ARE/703", "G/TBT/N/BHR/780"]


def test_paging_follows_until_total_count(config: SourceConfig) -> None:
    records = [{"documentSymbol": f"G/TBT/N/USA/{n}", "titlePlain": "T"} for n in range(10)]
    more = parse(page(*records, total=25), URL, config)
    assert more.follow == [URL.replace("page=1", "page=2")]
    last = parse(page(*records[:5], total=25), URL.replace("page=1", "page=3"), config)
    assert last.follow == []
    assert parse(page(), URL, config).follow == []


@pytest.mark.parametrize("body", [b"", b"<html>maintenance</html>", b"[]", b'{"results": []}', b'{"items": {}}'])
def test_a_changed_page_raises_structure_changed(config: SourceConfig, body: bytes) -> None:
    with pytest.raises(StructureChanged, match="wto_eping"):
        parse(body, URL, config)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_FIELDS = [
    "id",
    "documentSymbol",
    "notifyingMember",
    "notifyingMemberCode",
    "area",
    "distributionDate",
    "commentDeadlineDate",
    "title",
    "titlePlain",
    "descriptionPlain",
    "productsFreeText",
    "hsCodes",
    "icsCodes",
    "objectives",
    "keywords",
    "linkToNotification",
    "notifiedDocumentLink",
    "isOpenForComments",
    "spsKeywords",
    "countriesAffected",
    "allTradingPartners",
    "proposedEntryIntoForceDate",
    "proposedEntryIntoForceDateText",
    "proposedAdoptionDate",
]
_records = st.dictionaries(st.sampled_from(_FIELDS), _json | st.sampled_from(["G/TBT/N/EU/1", " China", "2025-01-01"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(_records | _json, max_size=4), _json)
def test_arbitrary_items_are_items_or_rejects_never_crashes(records: list[Any], total: Any) -> None:
    config = load_source("wto_eping")
    result = parse(json.dumps({"items": records, "totalCount": total}).encode(), URL, config)
    assert len(result.items) + len(result.rejected) == len(records)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_structure_changed(body: bytes) -> None:
    try:
        parse(body, URL, load_source("wto_eping"))
    except StructureChanged:
        pass


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_truncated_fixture_pages_raise_only_structure_changed(cut: int) -> None:
    body = cases("wto_eping")[0].body()
    try:
        parse(body[: cut % len(body)], URL, load_source("wto_eping"))
    except StructureChanged:
        pass


def test_an_empty_run_of_eping_is_flagged(config: SourceConfig) -> None:
    # ePing publishes every working day: a run that sees nothing means the API answered empty or changed.
    assert config.expected_min > 0
    assert config.is_suspicious(0)
