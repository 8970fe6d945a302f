"""Turn database rows into index documents (measures and bulletins).

Builders take plain mappings of column values, so the bulk loader can stream light
``select`` rows instead of full ORM objects (and a test can build a document from any
measure). Other-language versions of a measure's text come from ``extra["translations"]``:
``{language: {field: text}}`` (e.g. ``{"fr": {"title": "..."}}``), as crawlers record them.

Suggested HS codes (``row["hs_suggested"]``, the classifier's reading) are kept apart from the
source's ``hs_codes``: each carries ``suggested: true`` for display, and only those scoring at
least the match threshold, on a measure whose source gives no HS code, are filterable (in
``hs_suggested_codes``), as only those answer an HS subscription (alerts.matching).

Whatever its language, a document also carries Chinese names (``sectors_zh``, ``markets_zh``,
``hs_names_zh``: its sectors', its markets' and its filterable suggested HS codes'), so that a
Chinese query such as 玩具 matches an English recall of a toy lexically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from search.mappings import VECTOR_DIMS
from tbt_alert.countries import applicable_countries
from tbt_alert.countries import country as country_row

# Measure columns a document needs (raw_payload and revisions stay in the database).
MEASURE_COLUMNS = (
    "id", "source_id", "source_key", "kind", "parent_id", "relation", "document_symbol", "country",
    "title", "title_en", "description", "products", "hs_codes", "ics_codes", "objectives", "keywords",
    "language", "distributed_on", "published_on", "comment_deadline", "adopted_on", "entry_into_force",
    "url", "documents", "category", "product_type", "brand", "risk_type", "risk_level", "hazard",
    "measures_taken", "country_of_origin", "extra", "revision", "withdrawn", "first_seen", "last_changed",
    "served_version",
)  # fmt: skip
CHINA = "CHN"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes; we store UTC
    return value.isoformat()


def _country_fields(alpha3: str | None, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The notifying country with its names, plus the markets the measure applies in
    (a regional body's members); the group flags hold when any of those markets is in the group."""
    markets = applicable_countries(alpha3, extra)
    rows = {}
    for code in markets:
        try:
            rows[code] = country_row(code)
        except KeyError:
            continue  # an unknown code still gets indexed (and filterable by code); it only lacks group flags
    fields: dict[str, Any] = {
        "country": alpha3 or None,
        "markets": markets,
        "bri": any(r.bri for r in rows.values()),
        "eu": any(r.eu for r in rows.values()),
        "wto_member": any(r.wto_member for r in rows.values()),
    }
    if alpha3 and alpha3 in rows:
        fields["country_name_en"] = rows[alpha3].name_en
        fields["country_name_zh"] = rows[alpha3].name_zh
    # Every market's Chinese name is searchable: 沙特阿拉伯 finds a joint GCC notification.
    fields["markets_zh"] = [rows[code].name_zh for code in markets if code in rows]
    return fields


def _sector_names_zh(codes: Iterable[str]) -> list[str]:
    """The Chinese names of the sectors (a code the taxonomy no longer has keeps no name)."""
    from classifiers.labels import sector_names

    names = sector_names()
    return [names[code][0] for code in codes if code in names]


def _hs_names_zh(row: Mapping[str, Any], min_score: float | None) -> list[str]:
    """Chinese names of the suggested HS codes an HS filter finds the measure by (the same rule: the
    source lists no HS code, score at least the threshold): below it a name is too often wrong."""
    filterable = set(filterable_suggested_codes(row, min_score))
    suggested = row.get("hs_suggested") or ()
    return [str(s["name_zh"]) for s in suggested if str(s["code"]) in filterable and s.get("name_zh")]


def _translations(extra: Mapping[str, Any] | None) -> list[dict[str, str]]:
    found = (extra or {}).get("translations") or {}
    out = []
    if isinstance(found, Mapping):
        for language, fields in sorted(found.items()):
            if isinstance(fields, Mapping):
                for field, text in sorted(fields.items()):
                    if isinstance(text, str) and text.strip():
                        out.append({"language": str(language).lower(), "field": str(field), "text": text})
    return out


def _strings(values: Iterable[Any] | None) -> list[str]:
    return [str(v) for v in values or () if v not in (None, "")]


def suggested_codes(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The measure's suggested HS codes for display, best first, each marked as suggested."""
    return [
        {
            "code": str(s["code"]),
            "score": round(float(s["score"]), 4),
            "name_zh": s.get("name_zh") or "",
            "name_en": s.get("name_en") or "",
            "suggested": True,
        }
        for s in row.get("hs_suggested") or ()
    ]


def filterable_suggested_codes(row: Mapping[str, Any], min_score: float | None) -> list[str]:
    """The suggested codes an HS filter may find the measure by: none where the source lists HS
    codes (its own codes are authoritative), else those scoring at least ``min_score``."""
    if min_score is None or _strings(row.get("hs_codes")):
        return []
    return [str(s["code"]) for s in row.get("hs_suggested") or () if float(s["score"]) >= min_score]


def _standard_fields(standards: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Cited standards as shown (``standards``) and as filtered and counted (``standard_keys``:
    "IEC 60335" for every part and edition, with the same standard's other designation)."""
    from classifiers.standards import ADOPTING_MARKETS, related_keys

    shown = [
        {"code": s["code"], "key": s["key"], "year": s.get("year"), "adopted_by": s.get("adopted_by")}
        for s in standards
    ]
    keys = sorted({k for s in shown for k in related_keys(str(s["key"]))})
    prefixes = [str(s["adopted_by"]).split()[0] for s in shown if s["adopted_by"]]
    adopting = sorted({ADOPTING_MARKETS[p] for p in prefixes if p in ADOPTING_MARKETS})
    return {
        "standards": shown,
        "standard_keys": keys,
        "standard_codes": sorted({str(s["code"]) for s in shown}),
        "standard_adopting_markets": adopting,
    }


def measure_document(
    row: Mapping[str, Any], tags: Sequence[Mapping[str, Any]] = (), *, hs_min_score: float | None = None
) -> dict[str, Any]:
    """The index document of one measure; ``tags`` are its SectorTag rows (sector, score, method, ...).

    ``hs_min_score``: the score from which a suggested HS code is filterable (None: none is);
    the caller resolves it only for rows that have suggestions.
    """
    translations = _translations(row.get("extra"))
    languages = {row["language"]} if row.get("language") else set()
    if row.get("title_en"):
        languages.add("en")
    languages.update(t["language"] for t in translations)
    date = row.get("published_on") or row.get("distributed_on") or row.get("first_seen")
    if isinstance(date, dt.datetime):
        date = date.date()
    sectors = [
        {
            "code": t["sector"],
            "score": float(t["score"]),
            "method": t["method"],
            "classifier_version": t.get("classifier_version"),
        }
        for t in tags
    ]
    documents = row.get("documents") or {}
    doc: dict[str, Any] = {
        "id": row["id"],
        "source": row["source_id"],
        "source_key": row["source_key"],
        "kind": row["kind"],
        "document_symbol": row.get("document_symbol"),
        "parent_id": row.get("parent_id"),
        "relation": row.get("relation"),
        "revision": row.get("revision") or 1,
        **_country_fields(row.get("country"), row.get("extra")),
        "title": row["title"],
        "title_en": row.get("title_en"),
        "description": row.get("description"),
        "products": row.get("products"),
        "keywords": _strings(row.get("keywords")),
        "objectives": _strings(row.get("objectives")),
        "translations": translations,
        "language": row.get("language"),
        "languages": sorted(languages),
        "hs_codes": _strings(row.get("hs_codes")),
        "hs_suggested": suggested_codes(row),
        "hs_suggested_codes": filterable_suggested_codes(row, hs_min_score),
        "ics_codes": _strings(row.get("ics_codes")),
        "sectors": sectors,
        "sector_codes": sorted({s["code"] for s in sectors}),
        "sectors_zh": _sector_names_zh(sorted({s["code"] for s in sectors})),
        "hs_names_zh": _hs_names_zh(row, hs_min_score),
        "date": _iso(date),
        "distributed_on": _iso(row.get("distributed_on")),
        "published_on": _iso(row.get("published_on")),
        "comment_deadline": _iso(row.get("comment_deadline")),
        "adopted_on": _iso(row.get("adopted_on")),
        "entry_into_force": _iso(row.get("entry_into_force")),
        "first_seen": _iso(row.get("first_seen")),
        "last_changed": _iso(row.get("last_changed")),
        "category": row.get("category"),
        "product_type": row.get("product_type"),
        "brand": row.get("brand"),
        "risk_type": row.get("risk_type"),
        "risk_level": row.get("risk_level"),
        "hazard": row.get("hazard"),
        "measures_taken": row.get("measures_taken"),
        "country_of_origin": row.get("country_of_origin"),
        "origin_china": row.get("country_of_origin") == CHINA,
        "url": row.get("url"),
        "documents": [{"language": lang, "url": url} for lang, url in sorted(documents.items())],
        # The classifier version whose tags the document carries (the served one, issue 26).
        "tagged_version": row.get("served_version"),
        **_standard_fields(row.get("standards") or ()),
        # The sentence vector made at tagging (dense retrieval); only of the encoder's size.
        "vector": _vector(row.get("vector")),
    }
    # Absent values stay absent, so `exists` queries and missing-last sorts mean what they say.
    return {k: v for k, v in doc.items() if v is not None}


def _vector(value: Sequence[float] | None) -> list[float] | None:
    if value is None or len(value) != VECTOR_DIMS:
        return None
    return [float(x) for x in value]


def bulletin_document(
    bulletin: Mapping[str, Any], subscriber: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The index document of one bulletin (who, when, which measures, subject)."""
    doc = {
        "id": bulletin["id"],
        "subscriber_id": bulletin["subscriber_id"],
        "subscriber_email": subscriber.get("email"),
        "subscriber_name": subscriber.get("name"),
        "company": subscriber.get("company"),
        "language": bulletin.get("language"),
        "frequency": bulletin.get("frequency"),
        "period_start": _iso(bulletin.get("period_start")),
        "period_end": _iso(bulletin.get("period_end")),
        "created_at": _iso(bulletin.get("created_at")),
        "subject": bulletin.get("subject"),
        "text": bulletin.get("text"),
        "measure_ids": [i["measure_id"] for i in items],
        "items": [
            {"measure_id": i["measure_id"], "section": i.get("section"), "reasons": _strings(_reason_texts(i))}
            for i in items
        ],
    }
    return {k: v for k, v in doc.items() if v is not None}


def _reason_texts(item: Mapping[str, Any]) -> list[str]:
    # Reasons are stored as a JSON list; entries may be strings or small dicts ({"sector": "toys"}).
    out = []
    for reason in item.get("reasons") or []:
        if isinstance(reason, Mapping):
            out.append(",".join(f"{k}={v}" for k, v in sorted(reason.items())))
        else:
            out.append(str(reason))
    return out
