"""EU Safety Gate per-alert JSON (``/public/api/notification/{id}``) -> one recall item per alert and language.

The weekly XML reports (source ``eu_safety_gate``) are English; this API serves the same alert with
its texts in one requested language, so bulletins can quote the notifying authority's own words.
Each language version is its own item (key ``<reference>@<lang>``) so fetching French after English
never overwrites one with the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text, country_code, parse_date, require_keys
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

ALERT_PAGE = "https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/{id}?lang={lang}"


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        raw = body.decode("utf-8")
        alert = json.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        raise StructureChanged(config.id, "the response is not UTF-8 JSON", field="body") from None
    require_keys(config.id, alert, ("id", "reference", "product"), "alert")
    key = str(alert.get("reference") or alert.get("id"))
    requested = dict(parse_qsl(urlsplit(url).query)).get("language")
    result = ParseResult()
    result.add(build(config, key, raw, lambda: _read(config, alert, key, requested)))
    return result


def _get(record: Any, *path: str | int) -> Any:
    """A nested value, or None where any step is missing or of another shape."""
    for step in path:
        if isinstance(step, int):
            record = record[step] if isinstance(record, list) and len(record) > step else None
        else:
            record = record.get(step) if isinstance(record, Mapping) else None
    return record


def _text(config: SourceConfig, key: str, value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return clean_text(value)
    raise RecordRejected(config.id, f"expected text, got {type(value).__name__}", record=key, field=field)


def _version(record: Any, language: str | None) -> Mapping[str, Any]:
    """The language version of a block (product, risk): the requested one, else the first."""
    versions = _get(record, "versions")
    if not isinstance(versions, list):
        return {}
    chosen = [v for v in versions if isinstance(v, Mapping) and str(_get(v, "language", "key")).lower() == language]
    first = chosen[0] if chosen else versions[0] if versions else {}
    return first if isinstance(first, Mapping) else {}


def _names(config: SourceConfig, key: str, items: Any, path: tuple[str, ...], field: str) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise RecordRejected(config.id, "expected a list", record=key, field=field)
    out = []
    for entry in items:
        text = _text(config, key, _get(entry, *path), field)
        if text:
            out.append(text)
    return list(dict.fromkeys(out))


def _read(config: SourceConfig, alert: Mapping[str, Any], key: str, requested: str | None) -> dict[str, Any]:
    reference = _text(config, key, alert.get("reference"), "reference")
    if not reference:
        raise RecordRejected(config.id, "no case reference", record=key, field="reference")
    product = alert.get("product")
    language = (requested or str(_get(product, "versions", 0, "language", "key") or "")).lower() or None
    if language is None or len(language) != 2:
        raise RecordRejected(config.id, "cannot tell the language of the texts", record=key, field="language")
    product_text = _version(product, language)
    risk_text = _version(alert.get("risk"), language)
    generic = _text(config, key, product_text.get("name"), "product.versions.name")
    specific = _text(config, key, _get(product, "nameSpecific"), "product.nameSpecific")
    title = " — ".join(t for t in (generic, specific) if t)
    if not title:
        raise RecordRejected(config.id, "no product name", record=key, field="product.nameSpecific")
    category_name = _text(config, key, _get(product, "productCategory", "name"), "product.productCategory")
    risk_types = _names(config, key, _get(alert, "risk", "riskType"), ("name",), "risk.riskType")
    measures = _names(
        config, key, _get(alert, "measureTaken", "measures"), ("measureCategory", "name"), "measureTaken.measures"
    )
    brands = _names(config, key, _get(product, "brands"), ("brand",), "product.brands")
    notifying = _text(config, key, _get(alert, "country", "key"), "country")
    origin = _text(config, key, _get(alert, "traceability", "countryOrigin", "key"), "traceability.countryOrigin")
    extra: dict[str, Any] = {"reference": reference, "alert_id": alert.get("id")}
    optional = {
        "notification_type": _get(alert, "notificationType", "code"),
        "corrigendum": _get(alert, "corrigendum"),
        "counterfeit": _get(product, "isCounterfeit", "name"),
        "legal_provision": risk_text.get("legalProvision"),
        "package_description": product_text.get("packageDescription"),
        "sold_online": _get(alert, "traceability", "isSoldOnline", "name"),
        "weekly_report": _get(alert, "webReport", "code"),
    }
    for name, value in optional.items():
        text = _text(config, key, value, name) if not isinstance(value, (int, float)) else str(value)
        if text:
            extra[name] = text
    for name, path, field in (
        ("barcodes", ("barcode",), "barcodes"),
        ("model_types", ("modelType",), "modelTypes"),
        ("batch_numbers", ("batchNumber",), "batchNumbers"),
    ):
        values = _names(config, key, _get(product, field), path, f"product.{field}")
        if values:
            extra[name] = values
    reacting = _names(config, key, alert.get("reactingCountries"), ("country", "key"), "reactingCountries")
    if reacting:
        extra["reacting_countries"] = [
            code for code in (country_code(config, c, record=key, field="reactingCountries") for c in reacting) if code
        ]
    available = _names(config, key, alert.get("versions"), ("language", "key"), "versions")
    if available:
        extra["languages_available"] = [code.lower() for code in available]
    published = _get(alert, "publicationDate")
    if published is not None and not isinstance(published, str):
        raise RecordRejected(config.id, "expected a date", record=key, field="publicationDate")
    return {
        "source_key": f"{reference}@{language}",
        "kind": "recall",
        "title": title,
        "title_en": title if language == "en" else None,
        "description": _text(config, key, product_text.get("description"), "product.versions.description"),
        "products": specific,
        "product_type": generic,
        "country": country_code(config, notifying, record=key, field="country"),
        "country_of_origin": country_code(config, origin, record=key, field="traceability.countryOrigin"),
        "category": config.lookup("category", category_name) if category_name else None,
        "brand": ", ".join(brands) or None,
        "risk_type": "; ".join(r.lower() for r in risk_types) or None,
        "hazard": _text(config, key, risk_text.get("riskDescription"), "risk.versions.riskDescription"),
        "measures_taken": "; ".join(m.lower().replace("_", " ") for m in measures) or None,
        "language": language,
        "published_on": parse_date(
            published[:10] if published else None, ("%Y-%m-%d",), source=config.id, record=key, field="publicationDate"
        ),
        "url": ALERT_PAGE.format(id=alert.get("id"), lang=language),
        "extra": extra,
    }
