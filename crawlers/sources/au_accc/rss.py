"""Product Safety Australia's recall RSS feed: the newest recalls, each with its recall notice.

``https://www.productsafety.gov.au/rss/feed.xml/psa_recall`` lists the newest recalls (about 100),
newest first. Each ``<item>`` has the title, the link to the recall page, ``pubDate``, a ``guid``
(the recall node's UUID) and the ACCC's product ``<category>`` terms; its ``<description>`` is the
recall page's own HTML fields (``field--name-field-psa-recall-*``: published date, product
description, the defect, the hazards, what consumers should do, and on fuller notices the supplier
and where the product was sold), so no detail page is needed for them. Fields we do not map are kept
in ``extra.unmapped`` under their heading.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
import xml.etree.ElementTree as ET
from typing import Any

from parsel import Selector

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text
from crawlers.parsers._xml import UnsafeDocument, parse_xml, quarantined_document
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

# field--name-field-psa-recall-<name> -> MeasureItem field (the rest go to extra).
_FIELDS = {
    "product-desc": "description",
    "hazards": "hazard",
    "consumer-action": "measures_taken",
}
_EXTRA = {
    "product-defects": "defect",
    "supplier": "supplier",
    "where-sold": "where_sold",
    "traders": "traders",
    "dates-available": "dates_available",
}
_ITEM = re.compile(rb"<item\b.*?</item>", re.S)


def looks_like_rss(body: bytes) -> bool:
    head = body.lstrip()[:300]
    return head.startswith((b"<?xml", b"<rss"))


def parse_rss(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        root = parse_xml(body, config.id, document=url, root_field="rss")
    except UnsafeDocument as exc:
        return ParseResult(rejected=[quarantined_document(exc, body)])
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise StructureChanged(config.id, f"root element is <{root.tag}>, expected <rss><channel>", field="rss")
    items = channel.findall("item")
    raws = [m.group(0).decode("utf-8", "replace") for m in _ITEM.finditer(body)]
    if len(raws) != len(items):  # an unusual layout: each item's own serialisation instead
        raws = [ET.tostring(item, encoding="unicode") for item in items]
    result = ParseResult()
    for item, raw in zip(items, raws, strict=True):
        key = clean_text(item.findtext("guid")) or clean_text(item.findtext("link"))
        result.add(build(config, key, raw, functools.partial(_fields, item, key, config)))
    return result


def _fields(item: ET.Element, key: str | None, config: SourceConfig) -> dict[str, Any]:
    if key is None:
        raise RecordRejected(config.id, "an item has neither guid nor link", field="guid")
    title = clean_text(item.findtext("title"))
    if not title:
        raise RecordRejected(config.id, "the item has no title", record=key, field="title")
    notice = _notice(item.findtext("description") or "")
    published = notice.pop("published-date", None)
    published_on = _iso_date(published, key, config) if published else _rfc822_date(item, key, config)
    values: dict[str, Any] = {name: notice.pop(part, None) for part, name in _FIELDS.items()}
    extra: dict[str, Any] = {name: notice.pop(part) for part, name in _EXTRA.items() if part in notice}
    categories = [c for c in (clean_text(e.text) for e in item.findall("category")) if c]
    if categories:
        extra["categories"] = categories
    if notice:
        extra["unmapped"] = notice
    link = clean_text(item.findtext("link"))
    return {
        "source_key": key,
        "kind": "recall",
        "title": title,
        "country": config.jurisdiction,
        "published_on": published_on,
        "url": link if link and link.startswith(("https://", "http://")) else None,
        "keywords": categories,
        "language": "en",
        "extra": extra,
        **values,
    }


def _notice(description: str) -> dict[str, str]:
    """The recall notice's fields by their name after ``field-psa-recall-`` (date: its ISO value)."""
    fields: dict[str, str] = {}
    page = Selector(text=description or "<div></div>")
    for div in page.css("div.field"):
        classes = div.attrib.get("class", "")
        match = re.search(r"field--name-field-psa-recall-([a-z0-9-]+)", classes)
        if not match:
            continue
        name = match.group(1)
        if name == "published-date":  # only its machine-readable value; else the pubDate is read
            when = div.css("time::attr(datetime)").get()
            if when:
                fields[name] = when
            continue
        item = div.css("div.field__item").get() or div.get()
        text = clean_text(item)
        if text:
            fields[name] = text
    return fields


def _iso_date(value: str, key: str, config: SourceConfig) -> dt.date:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise RecordRejected(
            config.id, f"{value!r} is not an ISO date-time", record=key, field="field_psa_recall_published_date"
        ) from None


def _rfc822_date(item: ET.Element, key: str, config: SourceConfig) -> dt.date | None:
    value = clean_text(item.findtext("pubDate"))
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        raise RecordRejected(
            config.id, f"pubDate {value!r} is not an RFC 822 date", record=key, field="pubDate"
        ) from None
