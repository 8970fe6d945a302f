"""Index mappings and settings, generated in code so they are versioned with it.

``dynamic: strict`` everywhere: a document with a field the mapping does not know is
rejected, so a typo in the document builder fails loudly instead of silently creating an
unsearchable field. Text is analysed with ``standard`` (the only analyzer the test
distribution has: CJK is split per character, phrase queries keep characters together);
when every node has ``analysis-smartcn`` or ``analysis-icu``, Chinese-capable text fields
get an extra ``.zh`` sub-field with that analyzer.
"""

from __future__ import annotations

from typing import Any

# Text fields that may carry Chinese and so get the ``.zh`` sub-field when an analyzer exists.
CHINESE_FIELDS = (
    "title", "description", "products", "keywords", "translations.text", "sectors_zh", "markets_zh", "hs_names_zh",
)  # fmt: skip
# Fields the query API highlights (search.query uses the same tuple).
HIGHLIGHT_FIELDS = ("title", "title_en", "products", "description", "translations.text", "hazard", "keywords")

# The multilingual encoder's vector size (multilingual-e5-small): the dense field's dimensions.
VECTOR_DIMS = 384

_KEYWORD = {"type": "keyword"}
# Facet fields: their global ordinals are built at refresh, not by the first search after it.
_FACET = {"type": "keyword", "eager_global_ordinals": True}
_DATE = {"type": "date", "format": "strict_date_optional_time"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}


def _text(*, keyword: bool = False, chinese: str | None = None, highlight: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": "standard"}
    if highlight:
        # Stored offsets let the unified highlighter skip re-analysing the text of every hit.
        field["index_options"] = "offsets"
    subfields: dict[str, Any] = {}
    if keyword:
        # Facets and exact filters need the whole value; long values are not worth a keyword.
        subfields["raw"] = {"type": "keyword", "ignore_above": 256}
    if chinese:
        subfields["zh"] = {"type": "text", "analyzer": chinese}
    if subfields:
        field["fields"] = subfields
    return field


def measure_mappings(chinese_analyzer: str | None = None) -> dict[str, Any]:
    """The mapping of a measure document (see :mod:`search.documents`)."""
    zh = chinese_analyzer

    def text(name: str) -> dict[str, Any]:
        return _text(chinese=zh if name in CHINESE_FIELDS else None, highlight=name in HIGHLIGHT_FIELDS)

    return {
        "dynamic": "strict",
        # The vector is searched, never shown: kept out of every hit's source.
        "_source": {"excludes": ["vector"]},
        "properties": {
            "id": _KEYWORD,
            "source": _KEYWORD,
            "source_key": _KEYWORD,
            "kind": _FACET,
            "document_symbol": {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "standard"}}},
            "parent_id": _KEYWORD,
            "relation": _KEYWORD,
            "revision": {"type": "integer"},
            # Notifying/issuing member and its groups, denormalised so filters need no join.
            "country": _FACET,
            # Every market the measure applies in (a regional body's members too): filters and facets use it.
            "markets": _FACET,
            "country_name_en": _KEYWORD,
            "country_name_zh": _KEYWORD,
            # Chinese names of what the measure is about, whatever language it is written in, so a
            # Chinese query finds an English recall lexically: its sectors' names, the names of the
            # markets it applies in, and the names of HS codes suggested above the match threshold.
            "sectors_zh": text("sectors_zh"),
            "markets_zh": text("markets_zh"),
            "hs_names_zh": text("hs_names_zh"),
            "bri": {"type": "boolean"},
            "eu": {"type": "boolean"},
            "wto_member": {"type": "boolean"},
            # Text: the original language plus the versions the source gives.
            "title": text("title"),
            "title_en": text("title_en"),
            "description": text("description"),
            "products": text("products"),
            "keywords": text("keywords"),
            "objectives": text("objectives"),
            "translations": {
                "type": "object",
                "properties": {"language": _KEYWORD, "field": _KEYWORD, "text": text("translations.text")},
            },
            "language": _KEYWORD,
            "languages": _FACET,  # every language the measure can be read in
            # Codes: keywords, searched by prefix (HS 9503 finds 950300).
            "hs_codes": _KEYWORD,
            # Suggested HS-6 codes (推测), never mixed with the source's: shown with score and names;
            # hs_suggested_codes holds those an HS filter may match (above the threshold, and only
            # on measures whose source lists no HS code), searched by prefix like hs_codes.
            "hs_suggested": {
                "type": "object",
                "properties": {
                    "code": _KEYWORD,
                    "score": {"type": "float"},
                    "name_zh": _STORED_ONLY,
                    "name_en": _STORED_ONLY,
                    "suggested": {"type": "boolean"},
                },
            },
            "hs_suggested_codes": _KEYWORD,
            # The measure's sentence vector (made once, at tagging): kNN retrieval across languages.
            "vector": {"type": "dense_vector", "dims": VECTOR_DIMS, "index": True, "similarity": "cosine"},
            "ics_codes": _KEYWORD,
            # Sectors: nested keeps code, score and method of one tag together (toys >= 0.8
            # must not match a measure tagged toys 0.3 and textiles 0.9); sector_codes is the
            # flat copy for cheap filters and facets.
            "sectors": {
                "type": "nested",
                "properties": {
                    "code": _KEYWORD,
                    "score": {"type": "float"},
                    "method": _KEYWORD,
                    "classifier_version": _KEYWORD,
                },
            },
            "sector_codes": _FACET,
            # Cited standards (issue 27): standard_keys ("IEC 60335", every part and edition, with
            # the same standard's other designation) is the filter and facet; codes are exact.
            "standards": {
                "type": "object",
                "properties": {
                    "code": _KEYWORD,
                    "key": _KEYWORD,
                    "year": {"type": "integer"},
                    "adopted_by": _KEYWORD,
                },
            },
            "standard_keys": _FACET,
            "standard_codes": _KEYWORD,
            "standard_adopting_markets": _KEYWORD,
            # Dates. ``date`` is the one a reader sorts by (published, else distributed, else first seen).
            "date": _DATE,
            "distributed_on": _DATE,
            "published_on": _DATE,
            "comment_deadline": _DATE,
            "adopted_on": _DATE,
            "entry_into_force": _DATE,
            "first_seen": _DATE,
            "last_changed": _DATE,
            # Recalls and safety alerts.
            "category": text("category"),
            "product_type": text("product_type"),
            "brand": text("brand"),
            "risk_type": text("risk_type"),
            "risk_level": _KEYWORD,
            "hazard": text("hazard"),
            "measures_taken": text("measures_taken"),
            "country_of_origin": _KEYWORD,
            "origin_china": {"type": "boolean"},
            # Links: shown, never searched.
            "url": _STORED_ONLY,
            "documents": {"type": "object", "properties": {"language": _KEYWORD, "url": _STORED_ONLY}},
            "tagged_version": _KEYWORD,
        },
    }


def bulletin_mappings() -> dict[str, Any]:
    """The mapping of a bulletin document: who got it, when, which measures, the subject."""
    return {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "integer"},
            "subscriber_id": {"type": "integer"},
            "subscriber_email": _KEYWORD,
            "subscriber_name": _text(keyword=True),
            "company": _text(keyword=True),
            "language": _KEYWORD,
            "frequency": _KEYWORD,
            "period_start": _DATE,
            "period_end": _DATE,
            "created_at": _DATE,
            "subject": _text(keyword=True),
            "text": _text(),
            "measure_ids": _KEYWORD,
            "items": {
                "type": "object",
                "properties": {"measure_id": _KEYWORD, "section": _KEYWORD, "reasons": _KEYWORD},
            },
        },
    }


def lock_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {"owner": _KEYWORD, "acquired_at": _DATE, "expires_at": _DATE, "purpose": _KEYWORD},
    }


def index_settings(*, loading: bool) -> dict[str, Any]:
    """One shard (tens of thousands of documents), a replica wherever a second node exists.

    While a rebuild loads, refreshing is off and the translog is fsynced in the background:
    nobody reads the new index before the swap, and a crash mid-load discards it anyway.
    """
    return {"number_of_shards": 1, "auto_expand_replicas": "0-1", **dynamic_settings(loading=loading)}


def dynamic_settings(*, loading: bool) -> dict[str, Any]:
    """The settings a rebuild switches back once the load is done."""
    return {
        "refresh_interval": "-1" if loading else "1s",
        "translog": {"durability": "async" if loading else "request"},
    }
