"""EU TRIS: notifications of draft technical regulations under Directive (EU) 2015/1535 -> ``regulation`` items.

Two inputs, both read tolerantly (columns and labels matched case-insensitively, unknown ones kept):

- the research dataset of all notifications 1988-2020 (jfjelstul/eutr ``EUTR-notifications.csv``):
  real rows with the notification id, notifying state and the case's start and end; no titles;
- a notification page of the TRIS site (``/en/notification/{id}``). No such page was ever recorded,
  so this reader follows the fields the site documents (notification number, title, products,
  notification date, end of standstill) as label/value pairs in any markup: UNVERIFIED.

The comment deadline is the end of the standstill period: until then other member states and the
Commission may comment, and the state may not adopt the text.
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import re
from collections.abc import Mapping
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers._fields import build, clean_text, country_code, parse_date
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

NULL = "\\N"  # the research dataset's missing value
_RESEARCH_ID = re.compile(r"^TRIS:(\d{4}):(\d{4}):([A-Z]{2}):N$")
_NUMBER = re.compile(r"\b(\d{4})/(\d{4})/([A-Z]{2})\b")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y")
# Page labels as the TRIS site words them, lower-cased; the value follows in the next cell or after ":".
_LABELS = {
    "notification number": "number",
    "notification no": "number",
    "title": "title",
    "products": "products",
    "product": "products",
    "products/services": "products",
    "date received": "notified",
    "notification date": "notified",
    "end of standstill": "standstill_end",
    "end of standstill period": "standstill_end",
    "standstill end date": "standstill_end",
    "member state": "member_state",
    "notifying member state": "member_state",
}
_TAG = re.compile(r"<[^>]+>")
_CELL_BREAK = re.compile(
    r"</?(?:dt|dd|dl|th|td|tr|table|li|ul|p|div|h\d|span|label|body|head|title|section|strong|b)\b[^>]*>|<br\s*/?>",
    re.IGNORECASE,
)
_NOT_CONTENT = re.compile(r"<!--.*?-->|<(script|style|head)\b.*?</\1>", re.IGNORECASE | re.DOTALL)


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StructureChanged(config.id, "the response is not UTF-8 text", field="body") from None
    head = text.lstrip()[:400].lower()
    first_line = head.splitlines()[0] if head else ""
    if "notification_id" in first_line:
        return _research_csv(text, config)
    if head.startswith(("<!doctype", "<html")) or "<body" in head:
        return _notification_page(text, url, config)
    raise StructureChanged(config.id, "neither the research CSV nor a notification page", field="body")


def tris_number(year: str, number: str, state: str) -> str:
    """The number TRIS shows and searches by: ``2019/0014/PL``."""
    return f"{year}/{number}/{state}"


def _title(number: str, state_name: str | None) -> str:
    # The research dataset has no titles; this says only what the row says, never a guess at content.
    by = f" by {state_name}" if state_name else ""
    return f"Draft technical regulation notified{by} to the European Commission (TRIS {number})"


# -- the research dataset -------------------------------------------------------------------


def _research_csv(text: str, config: SourceConfig) -> ParseResult:
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip().lower(): name for name in (reader.fieldnames or [])}
    if "notification_id" not in columns:
        raise StructureChanged(config.id, "the CSV has no notification_ID column", field="notification_ID")
    result = ParseResult()
    try:
        for row in reader:
            record = {key.strip().lower(): value for key, value in row.items() if key is not None}
            if None in row:  # more cells than columns: keep them, they are part of the record
                record["_extra_cells"] = row[None]
            raw = json.dumps(row, ensure_ascii=False)
            key = (record.get("notification_id") or "").strip() or f"line {reader.line_num}"
            result.add(build(config, key, raw, functools.partial(_from_row, config, record, key)))
    except csv.Error as exc:
        raise StructureChanged(config.id, f"the CSV cannot be read ({exc})", field="body") from None
    return result


def _value(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if not isinstance(value, str) or value.strip() in ("", NULL, "NA"):
        return None
    return value.strip()


def _from_row(config: SourceConfig, record: Mapping[str, Any], key: str) -> dict[str, Any]:
    match = _RESEARCH_ID.match(_value(record, "notification_id") or "")
    if match is None:
        raise RecordRejected(config.id, "not a TRIS:YYYY:NNNN:CC:N id", record=key, field="notification_ID")
    year, number, state = match.groups()
    tris = tris_number(year, number, state)
    state_name = _value(record, "notification_by")
    country = _state(config, state, key)
    extra: dict[str, Any] = {"research_id": match.group(0), "notifying_state_code": state}
    for name in ("comments", "opinions"):
        listed = _value(record, name)
        if listed:
            extra[name] = [part.strip() for part in listed.split(",") if part.strip()]
    for name in ("postponement", "commission_comment", "commission_opinion"):
        flag = _value(record, name)
        if flag is not None:
            if flag not in ("0", "1"):
                raise RecordRejected(config.id, f"{flag!r} is not 0 or 1", record=key, field=name)
            extra[name] = flag == "1"
    known = {
        "key_id",
        "notification_id",
        "notification_by_id",
        "notification_by",
        "notification_by_code",
        "start_date",
        "start_year",
        "end_date",
        "end_year",
        "postponement",
        "comments",
        "count_comments",
        "commission_comment",
        "opinions",
        "count_opinions",
        "commission_opinion",
    }
    unmapped = {k: v for k, v in record.items() if k not in known}
    if unmapped:
        extra["unmapped"] = unmapped
    return {
        "source_key": tris,
        "kind": "regulation",
        "title": _title(tris, state_name),
        "title_en": _title(tris, state_name),
        "country": country,
        "document_symbol": tris,
        "language": "en",
        "distributed_on": _date(config, _value(record, "start_date"), key, "start_date"),
        "comment_deadline": _date(config, _value(record, "end_date"), key, "end_date"),
        "url": None,  # the dataset does not carry the site's page id
        "extra": extra,
    }


def _state(config: SourceConfig, code: str, key: str) -> str | None:
    # The Commission's codes: EL for Greece, UK for the United Kingdom (in the YAML lookup).
    return country_code(config, code, record=key, field="notification_by_code")


def _date(config: SourceConfig, value: str | None, key: str, field: str) -> Any:
    return parse_date(value, _DATE_FORMATS, source=config.id, record=key, field=field)


# -- a notification page (unverified) ---------------------------------------------------------


def _pairs(page: str) -> dict[str, str]:
    """Label/value pairs of a page: each label cell followed by its value cell, or "Label: value"."""
    content = _NOT_CONTENT.sub(" ", page)
    cells = [clean_text(html.unescape(_TAG.sub(" ", chunk))) for chunk in _CELL_BREAK.split(content)]
    texts = [c for c in cells if c]
    found: dict[str, str] = {}
    for index, text in enumerate(texts):
        label, sep, rest = text.partition(":")
        name = _LABELS.get(label.strip().lower())
        if name and name not in found:
            value = rest.strip() if sep and rest.strip() else (texts[index + 1] if index + 1 < len(texts) else "")
            if value:
                found[name] = value
    return found


def _notification_page(page: str, url: str, config: SourceConfig) -> ParseResult:
    fields = _pairs(page)
    if "number" not in fields:
        raise StructureChanged(config.id, "the page has no notification number", field="notification number")
    result = ParseResult()
    raw = page
    key = fields["number"]

    def make() -> dict[str, Any]:
        match = _NUMBER.search(fields["number"])
        if match is None:
            raise RecordRejected(config.id, "not a number like 2026/0266/ES", record=key, field="notification number")
        tris = tris_number(*match.groups())
        state = match.group(3)
        title = fields.get("title")
        return {
            "source_key": tris,
            "kind": "regulation",
            "title": title or _title(tris, fields.get("member_state")),
            "title_en": title if "/en/" in url else None,
            "products": fields.get("products"),
            "country": _state(config, state, key),
            "document_symbol": tris,
            "language": "en" if "/en/" in url else None,
            "distributed_on": _date(config, fields.get("notified"), key, "notification date"),
            "comment_deadline": _date(config, fields.get("standstill_end"), key, "end of standstill"),
            "url": url,
            "extra": {"page_fields": sorted(fields)},
        }

    result.add(build(config, key, raw, make))
    return result
