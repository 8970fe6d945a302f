"""RappelConso (France): product recalls from the government's recall portal -> ``recall`` items.

The portal's open data is the dataset ``rappelconso-v2-gtin-espaces`` on data.economie.gouv.fr,
served by Opendatasoft's Explore API v2.1. Three shapes of the same records are read:

- a page of the ``/records`` endpoint: ``{"total_count": N, "results": [record, ...]}``;
- the ``/exports/json`` endpoint: a JSON array of records;
- one record on its own (as saved by the third party whose examples our fixtures are).

A record is one *version* of a recall sheet (``numero_fiche``); a later version
(``numero_version`` 2, 3, ...) is stored as an update of the first (``parent_key``), so versions
never overwrite each other whatever order they arrive in. The dataset writes its texts in lower
case; they are kept as published. Raw payloads are each record's text exactly as received.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.items import ParseResult, Rejected
from crawlers.parsers._fields import Fields, build, clean_text, json_array_records, parse_date
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

# Explore API v2.1 refuses offset + limit above 10,000; older records come from /exports/json.
API_WINDOW = 10_000
# Measure's short label columns; a longer text (a brand list, many risks) stays whole in ``extra``.
_LABEL_MAX = 300
_SAFETY_GATE_REF = re.compile(r"^sr/\d+/\d+$", re.IGNORECASE)
# Record fields kept in ``extra`` as published (name in extra = field name).
_EXTRA_TEXT = (
    "conditionnements",
    "date_debut_commercialisation",
    "date_date_fin_commercialisation",
    "temperature_conservation",
    "marque_salubrite",
    "informations_complementaires",
    "zone_geographique_de_vente",
    "distributeurs",
    "preconisations_sanitaires",
    "conduites_a_tenir_par_le_consommateur",
    "numero_contact",
    "modalites_de_compensation",
    "date_de_fin_de_la_procedure_de_rappel",
    "informations_complementaires_publiques",
    "lien_vers_la_liste_des_produits",
    "lien_vers_la_liste_des_distributeurs",
)


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        text = body.decode("utf-8-sig")
        document = json.loads(text)
    except ValueError:  # UnicodeDecodeError included
        raise StructureChanged(config.id, "the response is not UTF-8 JSON", field="body") from None
    result = ParseResult()
    if isinstance(document, list):
        records = json_array_records(body, config.id)
    elif isinstance(document, Mapping) and "results" in document:
        records = _results(text, config)
        result.follow.extend(_next_page(config, url, document, len(records)))
    elif isinstance(document, Mapping) and "numero_fiche" in document:
        records = [(document, text.strip())]
    else:
        raise StructureChanged(
            config.id,
            "the response is neither a page with 'results', an export array nor a recall record",
            field="results",
        )
    for index, (record, raw) in enumerate(records):
        key = f"results[{index}]"
        if not isinstance(record, Mapping):
            result.rejected.append(Rejected(config.id, key, None, f"source {config.id}: {key} is not an object", raw))
            continue
        fiche = record.get("numero_fiche")
        if isinstance(fiche, str) and fiche.strip():
            key = fiche.strip()
        result.add(build(config, key, raw, functools.partial(_read, config, record, key)))
    return result


def _results(text: str, config: SourceConfig) -> list[tuple[Any, str]]:
    """The ``results`` array of a page, each record with its exact text."""
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] != "{":
        raise StructureChanged(config.id, "the page is not a JSON object", field="body")
    pos = _skip(text, pos + 1)
    while pos < len(text) and text[pos] != "}":
        name, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] != ":":
            raise StructureChanged(config.id, "the page is not a JSON object", field="body")
        start = _skip(text, pos + 1)
        value, end = decoder.raw_decode(text, start)
        if name == "results":
            if not isinstance(value, list):
                raise StructureChanged(
                    config.id, f"'results' is {type(value).__name__}, expected a list", field="results"
                )
            return json_array_records(text[start:end].encode("utf-8"), config.id)
        pos = _skip(text, end)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    raise StructureChanged(config.id, "the page has no 'results'", field="results")  # pragma: no cover


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _next_page(config: SourceConfig, url: str, page: Mapping[str, Any], count: int) -> list[str]:
    """The next ``offset`` while the page was full and the API's 10,000-record window allows."""
    total = page.get("total_count")
    if not isinstance(total, int) or isinstance(total, bool):
        raise StructureChanged(config.id, f"total_count {total!r} is not a number", field="total_count")
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    try:
        limit = int(query.get("limit", "10"))  # the API's default page size
        offset = int(query.get("offset", "0"))
    except ValueError:
        return []
    following = offset + limit
    # A page shorter than the limit is the last one, whatever total_count says.
    if count < limit or following >= total or following + limit > API_WINDOW:
        return []
    return [urlunsplit(parts._replace(query=urlencode({**query, "offset": str(following)})))]


def _read(config: SourceConfig, record: Mapping[str, Any], key: str) -> dict[str, Any]:
    f = Fields(config.id, record, key)
    fiche = _string(f, "numero_fiche", required=True) or ""  # required: never empty here
    version = f.take("numero_version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 0):
        raise RecordRejected(
            config.id, f"version {version!r} is not a whole number", record=key, field="numero_version"
        )
    name = _string(f, "libelle")
    models = _string(f, "modeles_ou_references")
    title = name or models
    if not title:
        raise RecordRejected(config.id, "no product name (libelle)", record=key, field="libelle")
    category = _string(f, "categorie_produit")
    published = _published(config, f.take("date_publication"), key)
    extra: dict[str, Any] = {"numero_fiche": fiche, "numero_version": version}
    for field in ("id", "rappel_guid"):
        value = f.take(field)
        if value is not None:
            extra[field] = value
    if _SAFETY_GATE_REF.match(fiche):
        # Sheets imported from Safety Gate carry its case number, lower-cased by the dataset.
        extra["safety_gate_reference"] = fiche.upper()
    identification = f.take("identification_produits")
    if identification is not None:
        if not isinstance(identification, list) or not all(isinstance(v, str) for v in identification):
            raise RecordRejected(config.id, "expected a list of texts", record=key, field="identification_produits")
        extra["identification_produits"] = identification
    for field in _EXTRA_TEXT:
        value = _string(f, field)
        if value is not None:
            extra[field] = value
    images = _string(f, "liens_vers_les_images")
    if images:
        extra["images"] = [link.strip() for link in images.split("|") if link.strip()]
    poster = _string(f, "lien_vers_affichette_pdf")
    page = _string(f, "lien_vers_la_fiche_rappel")
    legal = _string(f, "nature_juridique_rappel")
    hazard = _string(f, "description_complementaire_risque")
    record_fields: dict[str, str | None] = {"description": _string(f, "motif_rappel")}
    for column, name in (
        ("product_type", "sous_categorie_produit"),
        ("brand", "marque_produit"),
        ("risk_type", "risques_encourus"),
    ):
        value = _string(f, name)
        if value is not None and len(value) > _LABEL_MAX:
            extra[name] = value
            value = None
        record_fields[column] = value
    if f.leftover():
        extra["unmapped"] = f.leftover()
    follow_up = version is not None and version > 1
    return {
        "source_key": f"{fiche} v{version}" if follow_up else fiche,
        "parent_key": fiche if follow_up else None,
        "relation": "update" if follow_up else None,
        "kind": "recall",
        "title": title,
        "products": models,
        "country": config.jurisdiction,
        "language": "fr",
        "published_on": published,
        "category": config.lookup("category", category) if category else None,
        "hazard": hazard,
        "measures_taken": legal,
        "url": page,
        "documents": {"fr": poster} if poster else {},
        "extra": extra,
        **record_fields,
    }


def _string(fields: Fields, name: str, *, required: bool = False) -> str | None:
    value = fields.take(name, required=required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordRejected(fields.source, f"expected text, got {type(value).__name__}", record=fields.key, field=name)
    text = clean_text(value)
    if required and not text:
        raise RecordRejected(fields.source, "required field is empty", record=fields.key, field=name)
    return text


def _published(config: SourceConfig, value: Any, key: str) -> dt.date | None:
    """``2021-07-21T09:07:11+00:00`` -> the date as published (the portal's own day)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordRejected(config.id, "expected a date and time", record=key, field="date_publication")
    return parse_date(value[:10], ("%Y-%m-%d",), source=config.id, record=key, field="date_publication")
