"""Türkiye (GÜBİS): one unsafe-product notification page -> one ``recall`` item in Turkish.

``https://guvensizurun.ticaret.gov.tr/Bildirim/Detay?rid=N`` is server-rendered HTML (W3.CSS): the
notification is a list of rows, each a label cell and a value cell (``BİLDİRİM NO``, ``BİLDİRİM
TARİHİ`` as ``05.10.2023``, ``FİRMA``, ``MARKA``, ``ÜRÜN TANIMI``, ``MENŞE ÜLKE``, ``TAŞIDIĞI
RİSKLER``, ``GÜVENSİZLİK NEDENİ``, ``ALINAN ÖNLEM``, ``İLGİLİ MEVZUAT`` one act a line, ...). Labels
are mapped by the YAML's ``labels`` lookup; one not listed is kept in ``extra.unmapped``.

A page holding a notification asks for the next rid (``follow``) until ``options.walk_max`` pages past
``options.start_rid``: GÜBİS has no machine-readable list, and public monitors read it this way. A GÜBİS
page without a notification ends the walk; a page that is not GÜBİS's is a structure change.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from parsel import Selector

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text, country_code, parse_date
from crawlers.parsers._html_tables import decode_page
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

_NOTIFICATION = re.compile(r'<ul class="w3-ul w3-border">.*?</ul>', re.S)
_SPACES = re.compile(r"[ \t\r\f\v]+")


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    page = decode_page(body, config.id)
    if "GÜBİS" not in page[:4096] and "Güvensiz Ürün" not in page[:4096]:
        raise StructureChanged(config.id, "the page is not a GÜBİS page (no GÜBİS title)", field="title")
    found = _NOTIFICATION.search(page)
    result = ParseResult()
    if found is None:
        return result  # GÜBİS answers, but no notification has this rid (yet): the walk ends
    raw = found.group(0)
    fields, unmapped = _rows(config, raw)
    if not fields and not unmapped:
        return result
    rid = rid_of(url)
    key = clean_text(fields.get("number")) or (f"rid {rid}" if rid is not None else None)
    result.add(build(config, key, raw, functools.partial(_item, config, fields, unmapped, key, rid, url)))
    nxt = next_page(url, config)
    if nxt is not None:
        result.follow.append(nxt)
    return result


def rid_of(url: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get("rid")
    return int(values[0]) if values and values[0].isdigit() else None


def next_page(url: str, config: SourceConfig) -> str | None:
    """The page of the next rid, unless the walk read ``walk_max`` pages past ``start_rid``."""
    rid = rid_of(url)
    if rid is None:
        return None
    start = int(config.options.get("start_rid", rid))
    if rid + 1 >= start + int(config.options.get("walk_max", 1)):
        return None
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["rid"] = str(rid + 1)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _rows(config: SourceConfig, raw: str) -> tuple[dict[str, str], dict[str, str]]:
    """(value by our field name, value by label for labels the lookup does not list); empty values dropped."""
    labels = config.lookups.get("labels", {})
    fields: dict[str, str] = {}
    unmapped: dict[str, str] = {}
    for row in Selector(text=raw).css("div.w3-cell-row"):
        cells = row.css("div.w3-cell")
        if len(cells) < 2:
            continue
        label = " ".join(cells[0].xpath("string(.)").get("").split())
        lines = (_SPACES.sub(" ", line).strip() for line in cells[1].xpath("string(.)").get("").splitlines())
        value = "\n".join(line for line in lines if line)
        if not label or not value:
            continue
        name = labels.get(label)
        if name:
            fields.setdefault(name, value)
        else:
            unmapped[label] = value
    return fields, unmapped


def _item(
    config: SourceConfig,
    fields: dict[str, str],
    unmapped: dict[str, str],
    key: str | None,
    rid: int | None,
    url: str,
) -> dict[str, Any]:
    number = clean_text(fields.get("number"))
    if not number:
        raise RecordRejected(config.id, "the notification has no BİLDİRİM NO", record=key, field="number")
    product = clean_text(fields.get("product")) or clean_text(fields.get("label_name"))
    if not product:
        raise RecordRejected(
            config.id, "the notification names no product (ÜRÜN TANIMI)", record=number, field="product"
        )
    date = parse_date(fields.get("date"), ("%d.%m.%Y",), source=config.id, record=number, field="date")
    measure_date = parse_date(
        fields.get("measure_date"), ("%d.%m.%Y",), source=config.id, record=number, field="measure_date"
    )
    extra: dict[str, Any] = {"rid": rid}
    for name in ("firm", "firm_address", "model", "label_name", "notifying_body"):
        value = clean_text(fields.get(name))
        if value:
            extra[name] = value
    if measure_date:
        extra["measure_date"] = measure_date.isoformat()
    legislation = [line for line in fields.get("legislation", "").split("\n") if line]
    if legislation:
        extra["legislation"] = legislation
    if unmapped:
        extra["unmapped"] = unmapped
    return {
        "source_key": number,
        "kind": "recall",
        "title": product,
        "products": product,
        "brand": clean_text(fields.get("brand")),
        "product_type": clean_text(fields.get("product_group")),
        "country": config.jurisdiction,
        "country_of_origin": country_code(config, fields.get("origin"), record=number, field="origin"),
        "language": "tr",
        "published_on": date,
        "url": url,
        "hazard": clean_text(fields.get("risks")),
        "description": clean_text(fields.get("reason")),
        "measures_taken": clean_text(fields.get("measure")),
        "extra": {k: v for k, v in extra.items() if v is not None},
    }
