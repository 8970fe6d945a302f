"""Product Safety Australia: the recall RSS feed (see rss.py), or one Drupal JSON:API page.

A crawl reads the RSS feed. The JSON:API listing (``/jsonapi/node/psa_recall``) is kept readable
for the recorded page and a backfill, but it lists oldest first, carries four attributes per
recall, and its ``sort=-changed`` is refused (HTTP 400), so no crawl starts there.

JSON:API: ``node--psa_recall`` resources.

Keyed by the ACCC's recall id (``field_psa_recall_crm_id``, e.g. PS1044885), else the
node's UUID. ``links.next`` is the next page. Attributes we do not map yet are kept
in ``extra.unmapped``; the raw payload is the resource's exact JSON text.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._fields import Fields, build, clean_text, require_keys
from crawlers.sources import SourceConfig
from crawlers.sources.au_accc.rss import looks_like_rss, parse_rss
from tbt_alert.errors import RecordRejected, StructureChanged

_SITE = "https://www.productsafety.gov.au"


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    if looks_like_rss(body):
        return parse_rss(body, url, config)
    try:
        page = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StructureChanged(config.id, f"the page is not JSON ({exc})", field="body") from None
    require_keys(config.id, page, ("data", "links"), "page")
    data = page["data"]
    if not isinstance(data, list):
        raise StructureChanged(config.id, f"'data' is a {type(data).__name__}, expected a list", field="data")
    links = page["links"]
    if not isinstance(links, dict):
        raise StructureChanged(config.id, "'links' is not an object", field="links")
    raws = _raw_resources(body, data)
    result = ParseResult()
    for resource, raw in zip(data, raws, strict=True):
        key = _key(resource)
        result.add(build(config, key, raw, functools.partial(_fields, resource, key, config)))
    nxt = links.get("next")
    href = nxt.get("href") if isinstance(nxt, dict) else None
    if isinstance(href, str) and href.startswith(("https://", "http://")) and href != url:
        result.follow.append(href)
    return result


def _raw_resources(body: bytes, data: list[Any]) -> list[str]:
    """The exact text of each element of the top-level ``data`` array.

    Found by scanning for the array after ``"data"``; should the scan not give back the
    same resources (an unusual layout), each falls back to its compact JSON.
    """
    try:
        text = body.decode("utf-8-sig")
        decoder = json.JSONDecoder()
        pos = text.find("[", text.find('"data"'))
        out: list[str] = []
        while len(out) < len(data):
            pos += 1
            while text[pos] in " \t\r\n,":
                pos += 1
            value, end = decoder.raw_decode(text, pos)
            if value != data[len(out)]:
                raise ValueError("scan out of step")
            out.append(text[pos:end])
            pos = end - 1
        return out
    except (ValueError, IndexError):
        return [json.dumps(resource, ensure_ascii=False, separators=(",", ":")) for resource in data]


def _key(resource: Any) -> str | None:
    if not isinstance(resource, dict):
        return None
    attributes = resource.get("attributes")
    crm = attributes.get("field_psa_recall_crm_id") if isinstance(attributes, dict) else None
    return clean_text(crm) or clean_text(resource.get("id"))


def _fields(resource: Any, key: str | None, config: SourceConfig) -> dict[str, Any]:
    if not isinstance(resource, dict):
        raise RecordRejected(config.id, f"a resource is a JSON {type(resource).__name__}", field="data")
    if resource.get("type") != "node--psa_recall":
        raise RecordRejected(config.id, f"resource type {resource.get('type')!r}", record=key, field="type")
    attributes = resource.get("attributes")
    if not isinstance(attributes, dict):
        raise RecordRejected(config.id, "resource has no attributes", record=key, field="attributes")
    f = Fields(config.id, attributes, key)
    title = f.text("title", required=True)
    crm = f.text("field_psa_recall_crm_id")
    moderation = f.take("moderation_state")
    timestamp = moderation.get("timestamp") if isinstance(moderation, dict) else None
    changed = _date(timestamp, key, "moderation_state.timestamp", config)
    published = _date(f.text("field_psa_recall_published_date"), key, "field_psa_recall_published_date", config)
    path = f.take("path")
    alias = path.get("alias") if isinstance(path, dict) else None
    extra: dict[str, Any] = {
        "uuid": resource.get("id"),
        "nid": f.take("drupal_internal__nid"),
        "vid": f.take("drupal_internal__vid"),
        "crm_id": crm,
        "moderation_state": moderation,
        "changed_on": changed.isoformat() if changed else None,
        "api_url": (resource.get("links") or {}).get("self", {}).get("href"),
    }
    leftover = f.leftover()
    if leftover:
        extra["unmapped"] = leftover
    return {
        "source_key": key,
        "kind": "recall",
        "title": title,
        "country": config.jurisdiction,
        "published_on": published,
        "url": f"{_SITE}{alias}" if isinstance(alias, str) and alias.startswith("/") else None,
        "extra": {k: v for k, v in extra.items() if v is not None},
    }


def _date(value: Any, key: str | None, field: str, config: SourceConfig) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.datetime.fromisoformat(str(value)).date()
    except ValueError:
        raise RecordRejected(config.id, f"{value!r} is not an ISO date-time", record=key, field=field) from None
