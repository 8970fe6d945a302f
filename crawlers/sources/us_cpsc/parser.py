"""US CPSC: the SaferProducts ``Recall?format=json`` answer, a JSON array of recalls.

Keyed by the recall number (``18218``). Nested lists (products, hazards, remedies,
manufacturer countries) are flattened into the Measure's text fields and kept
whole in ``extra``; the raw payload is the record's own JSON text.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._fields import Fields, build, clean_text, country_code, json_array_records, parse_date
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected

_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
# Nested lists kept as they are in extra.
_KEEP_LISTS = (
    "Images",
    "Injuries",
    "Manufacturers",
    "Retailers",
    "Importers",
    "Distributors",
    "Inconjunctions",
    "ProductUPCs",
    "RemedyOptions",
)


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    result = ParseResult()
    for record, raw in json_array_records(body, config.id):
        key = clean_text(record.get("RecallNumber")) if isinstance(record, dict) else None
        result.add(build(config, key, raw, functools.partial(_fields, record, key, config)))
    return result


def _names(entries: Any, field: str, name: str = "Name") -> list[str]:
    if entries in (None, ""):
        return []
    if not isinstance(entries, list):
        raise RecordRejected("us_cpsc", f"expected a list, got {type(entries).__name__}", field=field)
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise RecordRejected("us_cpsc", f"expected objects in the list, got {type(entry).__name__}", field=field)
        text = clean_text(entry.get(name))
        if text:
            out.append(text)
    return out


def _fields(record: Any, key: str | None, config: SourceConfig) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordRejected(config.id, f"a recall is a JSON {type(record).__name__}, expected an object", field="")
    f = Fields(config.id, record, key)
    number = f.text("RecallNumber", required=True)
    title = f.text("Title", required=True)
    products = f.take("Products")
    hazards = f.take("Hazards")
    remedies = f.take("Remedies")
    countries_raw = _names(f.take("ManufacturerCountries"), "ManufacturerCountries", "Country")
    note = re.compile(config.options["country_note_pattern"]) if "country_note_pattern" in config.options else None
    countries = []
    for name in countries_raw:
        plain = note.sub("", name) if note else name
        code = country_code(config, plain, record=number, field="ManufacturerCountries")
        if code and code not in countries:
            countries.append(code)
    product_names = _names(products, "Products")
    hazard_names = _names(hazards, "Hazards")
    hazard_types = sorted(set(_names(hazards, "Hazards", "HazardType")))
    categories = sorted(set(_names(products, "Products", "CategoryID")))
    published = parse_date(f.text("RecallDate"), _DATE_FORMATS, source=config.id, record=number, field="RecallDate")
    last_publish = parse_date(
        f.text("LastPublishDate"), _DATE_FORMATS, source=config.id, record=number, field="LastPublishDate"
    )
    extra: dict[str, Any] = {
        "recall_id": f.take("RecallID"),
        "last_publish_date": last_publish.isoformat() if last_publish else None,
        "consumer_contact": f.text("ConsumerContact"),
        "sold_at": f.text("SoldAtLabel"),
        "products": products or [],
        "manufacturer_countries": countries,
        "category_ids": categories,
    }
    for name in _KEEP_LISTS:
        value = f.take(name)
        if value:
            extra[name[0].lower() + name[1:]] = value
    extra = {k: v for k, v in extra.items() if v not in (None, "", [])}
    fields: dict[str, Any] = {
        "source_key": number,
        "kind": "recall",
        "title": title,
        "description": f.text("Description"),
        "products": "; ".join(product_names) or None,
        "country": config.jurisdiction,
        "country_of_origin": countries[0] if countries else None,
        "risk_type": ", ".join(hazard_types) or None,
        "hazard": " ".join(hazard_names) or None,
        "measures_taken": " ".join(_names(remedies, "Remedies")) or None,
        "published_on": published,
        "url": f.text("URL"),
        "extra": extra,
    }
    leftover = f.leftover()
    if leftover:
        fields["extra"]["unmapped"] = leftover
    return fields
