"""Rosstandart (Russia): draft national standards under public discussion -> ``standard`` items.

Two shapes are read. The live one is the JSON behind the registry of draft standards on
fgis.gost.ru (``/share/proxy/alfresco-noauth/rsprs/public/nds?page=N&rows=20``): ``rows`` of
``@``-prefixed fields, the record's UUID inside the HTML link of ``@rsprsPrns:prns``, oldest page
first. The recorded one is a third party's normalisation of the same rows (``gost`` list) plus
notices on codes of practice (``sp`` list) from rst.gov.ru; its own additions (``fetched_date``,
``source``, ``matched_keywords``, ``stakeholders``) are not source data and are dropped.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.items import ParseResult, Rejected
from crawlers.parsers._fields import Fields, build, clean_text, parse_date
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged

DETAIL_URL = "https://fgis.gost.ru/share/page/rsprs/nds-details?uuid={uuid}"
_UUID = re.compile(r"uuid=([0-9a-f-]{36})", re.IGNORECASE)
_LINK_TEXT = re.compile(r">([^<]+)<")
_TC_CODE = re.compile(r"^(ТК|ПТК)\s*(\d+)", re.IGNORECASE)
_DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d")
# Fields the third-party normaliser added itself: not what Rosstandart published.
_NOT_SOURCE_DATA = ("fetched_date", "source", "matched_keywords", "stakeholders")
_API_FIELDS = {
    "@rsprs-nds:subProgram": "program",
    "@rsprs-nds:gostR": "doc_type",
    "@rsprsPrns:draftSt": "project_name",
    "@rsprsPrns:tk": "technical_committee",
    "@rsprsDeveloper:flUl": "developer",
    "@rsprs-nds:submitted-public-discussion-date": "start_date",
    "@rsprs-nds:public-discussion-completed-date": "end_date",
    "@lecm-statemachine:status": "status",
}


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        page = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise StructureChanged(config.id, "the response is not JSON", field="body") from None
    if not isinstance(page, Mapping):
        raise StructureChanged(config.id, f"the response is {type(page).__name__}, expected an object", field="body")
    result = ParseResult()
    if "rows" in page:
        _each(config, page["rows"], "rows", _from_api_row, result)
        result.follow.extend(_last_pages(config, url, page))
    elif "gost" in page or "sp" in page:
        _each(config, page.get("gost", []), "gost", _from_draft, result)
        _each(config, page.get("sp", []), "sp", _from_code_of_practice, result)
    else:
        raise StructureChanged(config.id, "the response has neither 'rows' nor 'gost'/'sp'", field="rows")
    return result


def _each(
    config: SourceConfig,
    records: Any,
    where: str,
    read: Callable[[SourceConfig, Mapping[str, Any], str], dict[str, Any]],
    result: ParseResult,
) -> None:
    if not isinstance(records, list):
        raise StructureChanged(config.id, f"{where!r} is {type(records).__name__}, expected a list", field=where)
    for index, record in enumerate(records):
        raw = json.dumps(record, ensure_ascii=False)
        key = f"{where}[{index}]"
        if not isinstance(record, Mapping):
            result.rejected.append(Rejected(config.id, key, None, f"source {config.id}: {key} is not an object", raw))
            continue
        if isinstance(record.get("id"), str) and record["id"].strip():
            key = record["id"].strip()
        result.add(build(config, key, raw, functools.partial(read, config, record, key)))


def _from_api_row(config: SourceConfig, row: Mapping[str, Any], key: str) -> dict[str, Any]:
    fields = Fields(config.id, row, key)
    link = fields.take("@rsprsPrns:prns", required=True)
    if not isinstance(link, str):
        raise RecordRejected(config.id, "expected the HTML link as text", record=key, field="@rsprsPrns:prns")
    uuid = _UUID.search(link)
    if uuid is None:
        raise RecordRejected(config.id, "no record UUID in the link", record=key, field="@rsprsPrns:prns")
    code = _LINK_TEXT.search(link)
    draft = {
        "id": uuid.group(1).lower(),
        "prns_code": clean_text(code.group(1)) if code else None,
        "url": DETAIL_URL.format(uuid=uuid.group(1).lower()),
    }
    for api_name, name in _API_FIELDS.items():
        draft[name] = _string(fields, api_name)
    return _draft_item(config, draft, key, fields.leftover())


def _from_draft(config: SourceConfig, record: Mapping[str, Any], key: str) -> dict[str, Any]:
    fields = Fields(config.id, record, key)
    draft = {name: _string(fields, name) for name in ("id", "prns_code", "url", *_API_FIELDS.values())}
    for name in _NOT_SOURCE_DATA:
        fields.take(name)
    return _draft_item(config, draft, key, fields.leftover())


def _draft_item(
    config: SourceConfig, draft: Mapping[str, str | None], key: str, leftover: dict[str, Any]
) -> dict[str, Any]:
    uuid = draft.get("id")
    if not uuid:
        raise RecordRejected(config.id, "no record id", record=key, field="id")
    title = draft.get("project_name")
    if not title:
        raise RecordRejected(config.id, "no project name", record=key, field="project_name")
    committee = draft.get("technical_committee")
    extra: dict[str, Any] = {
        name: draft[name] for name in ("prns_code", "doc_type", "program", "developer", "status") if draft.get(name)
    }
    if committee:
        extra["technical_committee"] = committee
        tc = _TC_CODE.match(committee)
        if tc:
            extra["technical_committee_code"] = f"{tc.group(1).upper()} {tc.group(2)}"
    if leftover:
        extra["unmapped"] = leftover
    return {
        "source_key": uuid,
        "kind": "standard",
        "title": title,
        "country": "RUS",
        "document_symbol": draft.get("prns_code"),
        "product_type": draft.get("doc_type"),
        "language": "ru",
        "published_on": _date(config, draft.get("start_date"), key, "start_date"),
        "comment_deadline": _date(config, draft.get("end_date"), key, "end_date"),
        "url": draft.get("url") or DETAIL_URL.format(uuid=uuid),
        "extra": extra,
    }


def _from_code_of_practice(config: SourceConfig, record: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A notice on a code of practice (СП): draft published or public discussion completed."""
    fields = Fields(config.id, record, key)
    notice_id = _string(fields, "id", required=True)
    title = _string(fields, "title") or _string(fields, "project_name")
    if not title:
        raise RecordRejected(config.id, "no title", record=key, field="title")
    project = _string(fields, "project_name")
    placed = _date(config, _string(fields, "placement_date"), key, "placement_date")
    dated = _date(config, _string(fields, "date"), key, "date")
    extra: dict[str, Any] = {}
    for name in ("notification_type", "doc_type", "developer"):
        value = _string(fields, name)
        if value:
            extra[name] = value
    if project and project != title:
        extra["project_name"] = project
    attachments = fields.take("attachments")
    if attachments is not None:
        if not isinstance(attachments, list) or not all(
            isinstance(a, Mapping) and isinstance(a.get("url"), str) for a in attachments
        ):
            raise RecordRejected(
                config.id, "attachments must be a list of {name, url}", record=key, field="attachments"
            )
        extra["attachments"] = [{"name": clean_text(a.get("name")), "url": a["url"]} for a in attachments]
    page_url = _string(fields, "url")
    for name in _NOT_SOURCE_DATA:
        fields.take(name)
    if fields.leftover():
        extra["unmapped"] = fields.leftover()
    return {
        "source_key": f"sp:{notice_id}",
        "kind": "standard",
        "title": title,
        "country": "RUS",
        "product_type": extra.get("doc_type"),
        "language": "ru",
        "published_on": placed or dated,
        "url": page_url,
        "extra": extra,
    }


def _string(fields: Fields, name: str, *, required: bool = False) -> str | None:
    value = fields.take(name, required=required)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise RecordRejected(fields.source, f"expected text, got {type(value).__name__}", record=fields.key, field=name)
    text = clean_text(value)
    if required and not text:
        raise RecordRejected(fields.source, "required field is empty", record=fields.key, field=name)
    return text


def _date(config: SourceConfig, value: str | None, key: str, field: str) -> Any:
    return parse_date(value, _DATE_FORMATS, source=config.id, record=key, field=field)


def _last_pages(config: SourceConfig, url: str, page: Mapping[str, Any]) -> list[str]:
    """From page 1, the newest pages: the registry lists oldest first and says how many pages it has."""
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if query.get("page", "1") != "1":
        return []
    total = str(page.get("total", "")).replace(" ", "").replace("\u00a0", "")
    if not total.isdigit():
        raise StructureChanged(config.id, f"page count {page.get('total')!r} is not a number", field="total")
    pages = int(total)
    wanted = int(config.options.get("pages_from_end", 3))
    numbers = list(range(pages, max(pages - wanted, 1), -1))
    parts = urlsplit(url)
    return [urlunsplit(parts._replace(query=urlencode({**query, "page": str(n)}))) for n in numbers]
