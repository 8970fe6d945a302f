"""RappelConso parser: a real page of 20 food recalls and a real car recall, versions, paging, bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import load_source
from crawlers.sources.fr_rappelconso.parser import parse
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases, meta, only_documented_errors

SOURCE = "fr_rappelconso"
RECORDS = "https://data.economie.gouv.fr/api/explore/v2.1/catalog/datasets/rappelconso-v2-gtin-espaces/records"


def test_fixtures_are_real() -> None:
    assert meta(SOURCE)["constructed"] is False
    assert {c["name"]: c["constructed"] for c in meta(SOURCE)["cases"]} == {
        "records_page_20": False,
        "car_recall_record": False,
    }


def test_raw_payload_is_each_record_as_received() -> None:
    case = cases(SOURCE)[0]
    body = case.body().decode("utf-8")
    items = case.run()["items"]
    assert len(items) == len(json.loads(body)["results"]) == 20
    for item in items:
        assert item["raw_payload"] in body
        assert json.loads(item["raw_payload"])["numero_fiche"] == item["extra"]["numero_fiche"]


def test_french_recall_fields() -> None:
    first = cases(SOURCE)[0].run()["items"][0]
    assert (first["source_key"], first["published_on"], first["category"]) == ("2021-07-0344", "2021-07-21", "food")
    assert (first["country"], first["language"], first["country_of_origin"]) == ("FRA", "fr", None)
    assert first["description"] == "une matière du produit contient de l'oxyde d'éthylène"
    assert first["measures_taken"] == "volontaire (sans arrêté préfectoral)"
    assert first["url"] == "https://rappel.conso.gouv.fr/fiche-rappel/1506/interne"


def test_a_second_version_is_an_update_of_the_sheet() -> None:
    items = {i["source_key"]: i for i in cases(SOURCE)[0].run()["items"]}
    update = items["2021-07-1063 v2"]
    assert (update["parent_key"], update["relation"]) == ("2021-07-1063", "update")
    assert items["2021-07-0344"]["parent_key"] is None


def test_a_safety_gate_sheet_keeps_the_case_number() -> None:
    [car] = cases(SOURCE)[1].run()["items"]
    assert car["extra"]["safety_gate_reference"] == "SR/00842/26"
    assert (car["category"], car["risk_type"], car["source_key"]) == ("motor_vehicles", "incendie", "sr/00842/26")


def test_paging_stops_at_a_short_page_and_at_the_api_window() -> None:
    config = load_source(SOURCE)
    records = [{"numero_fiche": f"x{i}", "libelle": "y"} for i in range(100)]
    body = json.dumps({"total_count": 500, "results": records}).encode()
    assert parse(body, f"{RECORDS}?limit=100&offset=0", config).follow == [f"{RECORDS}?limit=100&offset=100"]
    assert parse(body, f"{RECORDS}?limit=100&offset=400", config).follow == []  # total reached
    assert parse(body, f"{RECORDS}?limit=100&offset=9900", config).follow == []  # offset + limit <= 10,000
    short = json.dumps({"total_count": 500, "results": records[:20]}).encode()
    assert parse(short, f"{RECORDS}?limit=100&offset=0", config).follow == []


def test_an_export_array_is_read_too() -> None:
    record = cases(SOURCE)[1].body().decode("utf-8")
    result = parse(f"[{record}, {record}]".encode(), f"{RECORDS}/../exports/json", load_source(SOURCE))
    assert [i.source_key for i in result.items] == ["sr/00842/26", "sr/00842/26"]
    assert result.follow == []


def test_bad_records_are_quarantined() -> None:
    records = [
        {"numero_fiche": "a", "libelle": "x", "categorie_produit": "vaisseaux spatiaux"},
        {"numero_fiche": "b", "libelle": "x", "date_publication": "hier"},
        {"numero_fiche": "c", "libelle": "x", "numero_version": "2"},
        {"numero_fiche": "d"},
        {"libelle": "x"},
        "not a record",
    ]
    result = parse(json.dumps({"total_count": 6, "results": records}).encode(), RECORDS, load_source(SOURCE))
    assert result.items == []
    assert [(r.record_key, r.field) for r in result.rejected] == [
        ("a", "category"),
        ("b", "date_publication"),
        ("c", "numero_version"),
        ("d", "libelle"),
        ("results[4]", "numero_fiche"),
        ("results[5]", None),
    ]
    assert "crawlers/sources/fr_rappelconso/fr_rappelconso.yml" in result.rejected[0].reason


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html/>",
        b'{"total_count": 1}',
        b'{"results": [], "total_count": "x"}',
        b'{"results": {}, "total_count": 1}',
        b"42",
        b"\xff\xfe",
    ],
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, RECORDS, load_source(SOURCE))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=10,
)
_record = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        (
            "numero_fiche",
            "numero_version",
            "libelle",
            "modeles_ou_references",
            "categorie_produit",
            "date_publication",
            "identification_produits",
            "liens_vers_les_images",
            "id",
            "motif_rappel",
        ),
        _json,
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_record | _json, max_size=4), st.integers() | st.text(max_size=4))
def test_arbitrary_records_are_items_or_rejects(records: list[object], total: object) -> None:
    body = json.dumps({"total_count": total, "results": records}).encode()
    result = only_documented_errors(SOURCE, body, f"{RECORDS}?limit=2")
    # Only a total_count that is not a number is a changed structure; records never are.
    assert (result is None) == (not isinstance(total, int) or isinstance(total, bool))
    if result is not None:
        assert len(result.items) + len(result.rejected) == len(records)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=70_000), st.binary(max_size=40))
def test_truncated_or_garbage_bodies(cut: int, junk: bytes) -> None:
    body = cases(SOURCE)[0].body()
    only_documented_errors(SOURCE, body[: cut % len(body)], RECORDS)
    only_documented_errors(SOURCE, junk, RECORDS)


def test_over_long_labels_stay_whole_in_extra() -> None:
    # The brand and risk columns hold short labels; a longer text is kept, not cut and not rejected.
    brands = ", ".join(f"marque {i}" for i in range(60))
    record = {"numero_fiche": "z", "libelle": "x", "marque_produit": brands, "risques_encourus": "listeria"}
    [item] = parse(json.dumps({"total_count": 1, "results": [record]}).encode(), RECORDS, load_source(SOURCE)).items
    assert (item.brand, item.extra["marque_produit"], item.risk_type) == (None, brands, "listeria")
