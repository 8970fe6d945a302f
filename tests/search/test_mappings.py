"""Mappings and documents: strict, complete, and what the cluster can run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from elasticsearch import BadRequestError

from search.bulk import index_action, send
from search.client import cluster_info
from search.documents import measure_document
from search.mappings import bulletin_mappings, index_settings, measure_mappings
from tests.search.conftest import TAGS, records


def _row(record: dict[str, Any]) -> dict[str, Any]:
    from schema.ids import measure_id

    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return {**record, "id": measure_id(record["source_id"], record["source_key"]), "revision": 1,
            "withdrawn": False, "first_seen": now, "last_changed": now, "tagged_version": None}  # fmt: skip


def _documents() -> list[dict[str, Any]]:
    docs = []
    for record in records():
        tags = [{"sector": s, "score": sc, "method": m, "classifier_version": "t"}
                for s, sc, m in TAGS.get(record["source_key"], [])]  # fmt: skip
        docs.append(measure_document(_row(record), tags))
    return docs


def _paths(properties: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for name, spec in properties.items():
        out.add(prefix + name)
        if "properties" in spec:
            out |= _paths(spec["properties"], f"{prefix}{name}.")
    return out


def test_every_document_field_is_in_the_mapping() -> None:
    mapped = _paths(measure_mappings()["properties"])
    for doc in _documents():
        for key, value in doc.items():
            assert key in mapped, key
            if isinstance(value, list) and value and isinstance(value[0], dict):
                assert {f"{key}.{k}" for v in value for k in v} <= mapped


def test_documents_carry_country_groups_and_languages() -> None:
    docs = {d["source_key"]: d for d in _documents()}
    assert docs["b855d61f-af76-49f1-9ffe-128ee2bc5fa8"]["bri"] is True  # Russia
    assert docs["A12/00804/21"]["eu"] is True  # notified by Germany
    assert docs["A12/00817/21"]["origin_china"] is True
    assert docs["SR/00581/26"]["languages"] == ["ar", "bg", "de", "en", "fr", "uk"]
    assert docs["CONSTRUCTED-ZH-1"]["sector_codes"] == ["toys"]
    assert "comment_deadline" not in docs["A12/00817/21"]  # absent, not null


def test_chinese_subfields_only_with_a_chinese_analyzer() -> None:
    assert "fields" not in measure_mappings(None)["properties"]["title"]
    smart = measure_mappings("smartcn")["properties"]
    assert smart["title"]["fields"]["zh"] == {"type": "text", "analyzer": "smartcn"}
    assert "zh" not in smart["title_en"].get("fields", {})


def test_cluster_info_matches_the_nodes_api(es: Any, make_settings: Any) -> None:
    settings = make_settings()
    info = cluster_info(es, settings)
    nodes = es.nodes.info(node_id="_local")["nodes"]
    node = next(iter(nodes.values()))
    assert info.version == node["version"]
    names = {p["name"] for p in node.get("plugins", [])}
    assert info.plugins == names
    expected = "smartcn" if "analysis-smartcn" in names else "icu_analyzer" if "analysis-icu" in names else None
    assert info.chinese_analyzer == expected


def test_strict_mapping_rejects_unknown_fields(es: Any, index_prefix: str) -> None:
    name = f"{index_prefix}-strict"
    es.indices.create(index=name, mappings=measure_mappings(), settings=index_settings(loading=False))
    doc = _documents()[0]
    es.index(index=name, id=doc["id"], document=doc)  # a real document fits
    with pytest.raises(BadRequestError) as caught:
        es.index(index=name, id="x", document={**doc, "colour": "red"})
    assert caught.value.error == "strict_dynamic_mapping_exception"
    with pytest.raises(BadRequestError):  # nested objects are strict too
        es.index(index=name, id="y", document={**doc, "sectors": [{"code": "toys", "score": 1, "why": "?"}]})


def test_bulk_errors_are_reported_per_document(es: Any, index_prefix: str, make_settings: Any) -> None:
    settings = make_settings(TBT_INDEX_PREFIX=index_prefix)
    name = f"{index_prefix}-bulk"
    es.indices.create(index=name, mappings=measure_mappings(), settings=index_settings(loading=False))
    docs = _documents()[:3]
    docs[1] = {**docs[1], "unknown_field": 1}
    docs[2] = {**docs[2], "date": "not a date"}
    report = send(es, settings, [index_action(name, d) for d in docs])
    assert report.indexed == 1
    assert report.failed_ids == sorted([docs[1]["id"], docs[2]["id"]])
    reasons = {e.doc_id: e.reason for e in report.errors}
    assert "strict_dynamic_mapping_exception" in reasons[docs[1]["id"]]
    assert "document_parsing_exception" in reasons[docs[2]["id"]] or "date" in reasons[docs[2]["id"]]


def test_bulletin_mapping_is_strict() -> None:
    assert bulletin_mappings()["dynamic"] == "strict"
    assert measure_mappings()["dynamic"] == "strict"


def test_regional_measure_is_filed_under_every_member_market(es: Any, index_prefix: str) -> None:
    # Constructed: the shape of an eaeu_eec item (no single country, members in extra.applies_to).
    row = _row({"source_id": "eaeu_eec", "source_key": "ТР ТС 008/2011", "kind": "regulation",
                "title": "О безопасности игрушек", "country": None,
                "extra": {"applies_to": ["ARM", "BLR", "KAZ", "KGZ", "RUS"], "constructed": True}})  # fmt: skip
    doc = measure_document(row, [])
    assert doc["markets"] == ["ARM", "BLR", "KAZ", "KGZ", "RUS"]
    assert doc["bri"] is True
    assert doc["eu"] is False
    name = f"{index_prefix}-regional"
    es.indices.create(index=name, mappings=measure_mappings(), settings=index_settings(loading=False))
    es.index(index=name, id=doc["id"], document=doc, refresh=True)
    hits = es.search(index=name, query={"terms": {"markets": ["KAZ"]}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == [doc["id"]]
