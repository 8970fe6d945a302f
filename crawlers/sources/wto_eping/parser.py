"""WTO ePing: one page of the keyless ``azureSearch/getAll`` JSON API (or of the keyed
``api.wto.org/eping/notifications/search``) -> TBT/SPS notification items.

The JSON shape is not documented and no complete recorded response is public, so every field is
read defensively: any field may be absent, symbols carry stray spaces or list several members (GCC
joint notifications), titles may carry HTML, HS codes come as objects or plain strings. The field
names follow what independent public clients of the live API read (see recorded/meta.json):
``spsKeywords`` beside ``keywords``, ``countriesAffected`` as ``[{name}]``,
``proposedEntryIntoForceDate`` (+ ``...Text``), ``notifiedDocumentLink`` as comma-joined URLs.
The page must still be an object with ``items``; anything else means the API changed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.items import ParseResult, Rejected
from crawlers.parsers._fields import Fields, build, clean_text, country_code, parse_date, require_keys
from crawlers.sources import SourceConfig
from crawlers.symbols import DocumentSymbol, parse_symbols
from crawlers.urls import web_url_problem
from tbt_alert.errors import InvalidSymbol, RecordRejected, StructureChanged

_DOMAIN_IDS = {"1": "TBT", "2": "SPS"}  # ePing's domainIds query values
_KINDS = {"TBT": "tbt_notification", "SPS": "sps_notification"}
_VIEW_PATH = "/en/Search?viewData={id}"
_DEFAULT_HOST = "https://epingalert.org"  # when the YAML lists no options.hosts
# WTO's document server keeps one folder per language: t = English, u = French, v = Spanish.
_DDF_LANGUAGE = re.compile(r"(DDFDocuments/)([tuv])(/)", re.IGNORECASE)
_CRN = re.compile(r"/crnattachments/.*?/(\d{2}_\d{3,6})_\d{2}_[a-z]\.\w+", re.IGNORECASE)
# notifiedDocumentLink joins several documents with commas (real values: "..._e.pdf,..._x.pdf"),
# sometimes with line breaks; none of WTO's or the members' document URLs seen holds a comma.
_LINK_SEPARATORS = re.compile(r"[,;\s]+")
# ISO date-time on epingalert.org; day/month/year on eping.wto.org's newer endpoints ("06/10/2026").
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_HS_IN_TEXT = re.compile(r"HS\s*codes?\s*(?:\(s\))?\s*:\s*([\d.;,\s]+)", re.IGNORECASE)
_ICS_IN_TEXT = re.compile(r"ICS(?:\s*codes?\s*(?:\(s\))?)?\s*:\s*([\d.;,\s]+)", re.IGNORECASE)
_OBJECTIVE_SUFFIX = re.compile(r"\s*\((?:TBT|SPS)\)\s*$")
_OBJECTIVES_IN_TEXT = re.compile(r"\s*(.+?\((?:TBT|SPS)\))\s*(?:[,;]|$)")
_EXCEL_CR = "_x000D_"  # carriage returns escaped by ePing's spreadsheet export, seen in real records


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    """Items, rejects and the next page's URL of one getAll response."""
    try:
        page = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise StructureChanged(config.id, "the response is not JSON", field="body") from None
    require_keys(config.id, page, ("items",), "response")
    records = page["items"]
    if not isinstance(records, list):
        raise StructureChanged(config.id, f"'items' is {type(records).__name__}, expected a list", field="items")
    query = dict(parse_qsl(urlsplit(url).query))
    view_host = _view_host(config, url)
    result = ParseResult()
    for index, record in enumerate(records):
        raw = json.dumps(record, ensure_ascii=False)
        if not isinstance(record, Mapping):
            result.rejected.append(
                Rejected(config.id, f"items[{index}]", None, f"source {config.id}: item {index} is not an object", raw)
            )
            continue
        key = _record_label(record, index)
        result.add(build(config, key, raw, functools.partial(_read, config, record, key, query, view_host)))
    next_url = _next_page(url, query, page, len(records))
    if next_url:
        result.follow.append(next_url)
    return result


def _view_host(config: SourceConfig, url: str) -> str:
    """Where a notification's page is shown: the host that answered, when it is an ePing site."""
    hosts = [str(h).rstrip("/") for h in config.options.get("hosts", [])] or [_DEFAULT_HOST]
    parts = urlsplit(url)
    answered = f"{parts.scheme}://{parts.netloc}"
    return answered if answered in hosts else hosts[0]


def _record_label(record: Mapping[str, Any], index: int) -> str:
    """A name for error messages before the record is read: symbol, ePing id or position."""
    symbol = record.get("documentSymbol")
    if isinstance(symbol, str) and symbol.strip():
        return symbol.strip()
    if isinstance(record.get("id"), (int, str)) and str(record["id"]).strip():
        return f"eping:{str(record['id']).strip()}"
    return f"items[{index}]"


def _read(
    config: SourceConfig, record: Mapping[str, Any], key: str, query: Mapping[str, str], view_host: str
) -> dict[str, Any]:
    source = config.id
    fields = Fields(source, record, key)
    eping_id = _plain(fields, "id")
    symbols = _symbols(source, key, fields.take("documentSymbol"))
    member_name = _plain(fields, "notifyingMember")
    member_code = _plain(fields, "notifyingMemberCode")
    country = country_code(config, member_name, record=key, field="notifyingMember") if member_name else None
    if country is None and member_code:
        country = country_code(config, member_code, record=key, field="notifyingMemberCode")
    own = _own_symbol(source, key, symbols, country)
    if country is None and own is not None:
        country = own.country
    if country is None:
        raise RecordRejected(
            source, "no notifying member and no symbol to take it from", record=key, field="notifyingMember"
        )
    domain = _domain(source, key, own, _plain(fields, "area"), query)
    notified = _links(source, key, fields.take("notifiedDocumentLink"), "notifiedDocumentLink")
    source_key = _source_key(source, key, own, eping_id, notified)

    title_plain = _text(fields, "titlePlain")
    title_html = _text(fields, "title")
    title = title_plain or title_html
    if title is None:
        raise RecordRejected(source, "no title (titlePlain or title)", record=key, field="titlePlain")
    description = _text(fields, "descriptionPlain") or _text(fields, "description")
    products = _text(fields, "productsFreeTextPlain") or _text(fields, "productsFreeText")
    link = fields.take("linkToNotification")
    extra: dict[str, Any] = {}
    if eping_id:
        extra["eping_id"] = eping_id
    if member_name:
        extra["notifying_member"] = member_name
    if len(symbols) > 1:
        extra["joint_symbols"] = [s.symbol for s in symbols]
    if notified:
        extra["notified_documents"] = notified
    distributed = _date(source, key, fields, "distributionDate")
    deadline = _date(source, key, fields, "commentDeadlineDate")
    in_force = _details(fields, extra)
    hs_codes = _codes(source, key, fields.take("hsCodes"), "hsCodes", _hs) + _codes_in_text(products, _HS_IN_TEXT, _hs)
    ics_codes = _codes(source, key, fields.take("icsCodes"), "icsCodes", _ics) + _codes_in_text(
        products, _ICS_IN_TEXT, _ics
    )
    objectives = _terms(source, key, fields.take("objectives"), "objectives", split_objectives=True)
    keywords = _terms(source, key, fields.take("keywords"), "keywords", split_objectives=False)
    sps_keywords = _terms(source, key, fields.take("spsKeywords"), "spsKeywords", split_objectives=False)
    leftover = fields.leftover()
    if leftover:
        extra["unmapped"] = leftover
    return {
        "source_key": source_key,
        "kind": _KINDS[domain],
        "title": title,
        "title_en": title,  # ePing is queried with language=1 (English)
        "description": description,
        "products": products,
        "country": country,
        "document_symbol": own.symbol if own else None,
        "parent_key": own.parent if own else None,
        "relation": own.relation if own else None,
        "hs_codes": list(dict.fromkeys(hs_codes)),
        "ics_codes": list(dict.fromkeys(ics_codes)),
        "objectives": objectives,
        "keywords": list(dict.fromkeys(keywords + sps_keywords)),
        "language": "en",
        "distributed_on": distributed,
        "comment_deadline": deadline,
        "entry_into_force": in_force,
        "url": view_host + _VIEW_PATH.format(id=eping_id) if eping_id else (notified[0] if notified else None),
        "documents": _documents(source, key, link),
        "extra": extra,
    }


def _details(fields: Fields, extra: dict[str, Any]) -> Any:
    """Type, affected members, flags and proposed dates into ``extra``; returns the entry-into-force date.

    "Proposed" dates are what the member announced; the text form carries what is not a date
    ("6 months after publication"), kept beside the date, never turned into one.
    """
    source, key = fields.source, fields.key or ""
    notification_type = _text(fields, "notificationType")
    if notification_type:
        extra["notification_type"] = notification_type
    affected = _names(source, key, fields.take("countriesAffected"), "countriesAffected")
    if affected:
        extra["countries_affected"] = affected
    for name, extra_name in (
        ("isOpenForComments", "open_for_comments"),
        ("allTradingPartners", "all_trading_partners"),
    ):
        flag = fields.take(name)
        if isinstance(flag, bool):
            extra[extra_name] = flag
    in_force = _date(source, key, fields, "proposedEntryIntoForceDate")
    adoption = _date(source, key, fields, "proposedAdoptionDate")
    if adoption:
        extra["proposed_adoption"] = adoption.isoformat()
    for name, extra_name in (
        ("proposedEntryIntoForceDateText", "entry_into_force_text"),
        ("proposedAdoptionDateText", "adoption_text"),
    ):
        value = _text(fields, name)
        if value:
            extra[extra_name] = value
    return in_force


def _plain(fields: Fields, name: str) -> str | None:
    value = fields.take(name)
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, (str, int)):
        raise RecordRejected(fields.source, f"expected text, got {type(value).__name__}", record=fields.key, field=name)
    return clean_text(value)


def _text(fields: Fields, name: str) -> str | None:
    value = fields.take(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordRejected(fields.source, f"expected text, got {type(value).__name__}", record=fields.key, field=name)
    return clean_text(value.replace(_EXCEL_CR, "\n"))


def _symbols(source: str, key: str, value: Any) -> list[DocumentSymbol]:
    if value is None:
        return []
    if not isinstance(value, str):
        raise RecordRejected(source, f"expected text, got {type(value).__name__}", record=key, field="documentSymbol")
    try:
        return parse_symbols(value)
    except InvalidSymbol as exc:
        raise RecordRejected(source, str(exc), record=key, field="documentSymbol") from None


def _own_symbol(source: str, key: str, symbols: list[DocumentSymbol], country: str | None) -> DocumentSymbol | None:
    """The notifying member's own symbol; a GCC joint notification lists every member's symbol."""
    if len(symbols) <= 1:
        return symbols[0] if symbols else None
    mine = [s for s in symbols if s.country == country]
    if len(mine) != 1:
        raise RecordRejected(
            source,
            f"cannot tell which of {len(symbols)} symbols is the notifying member's ({country})",
            record=key,
            field="documentSymbol",
        )
    return mine[0]


def _domain(source: str, key: str, own: DocumentSymbol | None, area: str | None, query: Mapping[str, str]) -> str:
    if own is not None:
        return own.domain
    if area and area.upper() in _KINDS:
        return area.upper()
    if area:
        raise RecordRejected(source, f"area {area!r} is neither TBT nor SPS", record=key, field="area")
    from_query = _DOMAIN_IDS.get(query.get("domainIds", ""))
    if from_query is None:
        raise RecordRejected(source, "no symbol, area or domainIds to tell TBT from SPS", record=key, field="area")
    return from_query


def _source_key(source: str, key: str, own: DocumentSymbol | None, eping_id: str | None, notified: list[str]) -> str:
    """The symbol; else ePing's id; else the WTO registry number of the notified text (``25_03798``)."""
    if own is not None:
        return own.symbol
    if eping_id:
        return f"eping:{eping_id}"
    for link in notified:
        match = _CRN.search(link)
        if match:
            return f"crn:{match.group(1)}"
    raise RecordRejected(
        source, "no document symbol, ePing id or notified document to key it by", record=key, field="documentSymbol"
    )


def _date(source: str, key: str, fields: Fields, name: str) -> Any:
    value = fields.take(name)
    if value is not None and not isinstance(value, str):
        raise RecordRejected(source, f"expected a date, got {type(value).__name__}", record=key, field=name)
    # ISO date or date-time (only the date part counts), or day/month/year.
    return parse_date(value[:10] if value else value, _DATE_FORMATS, source=source, record=key, field=name)


def _hs(code: str) -> str | None:
    digits = re.sub(r"[\s.]", "", code)
    return digits if re.fullmatch(r"\d{2,10}", digits) else None


def _ics(code: str) -> str | None:
    text = code.strip()
    return text if re.fullmatch(r"\d{2}(\.\d{3}(\.\d{2})?)?", text) else None


def _codes(source: str, key: str, value: Any, name: str, normalise: Any) -> list[str]:
    """Codes given as ``[{"code": ..}]``, ``["8471"]`` or ``"8471; 8473"``."""
    if value is None:
        return []
    entries: Iterable[Any] = (
        value if isinstance(value, list) else re.split(r"[;,]", value) if isinstance(value, str) else [value]
    )
    out = []
    for entry in entries:
        code = entry.get("code") if isinstance(entry, Mapping) else entry
        if isinstance(code, str) and not code.strip():
            continue
        if not isinstance(code, (str, int)) or isinstance(code, bool):
            raise RecordRejected(source, f"code {code!r} is neither text nor a number", record=key, field=name)
        normal = normalise(str(code))
        if normal is None:
            raise RecordRejected(source, f"{code!r} is not a valid code", record=key, field=name)
        out.append(normal)
    return out


def _codes_in_text(text: str | None, pattern: re.Pattern[str], normalise: Any) -> list[str]:
    """Codes ePing writes into the products text: "Paints (HS code(s): 3210); ... (ICS code(s): 87.040)"."""
    out: list[str] = []
    for match in pattern.finditer(text or ""):
        for part in re.split(r"[;,\s]+", match.group(1)):
            normal = normalise(part.rstrip(".")) if part.strip(".") else None
            if normal:
                out.append(normal)
    return out


def _terms(source: str, key: str, value: Any, name: str, *, split_objectives: bool) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parts: list[Any] = _OBJECTIVES_IN_TEXT.findall(value) if split_objectives and "(" in value else value.split(";")
    elif isinstance(value, list):
        parts = value
    else:
        raise RecordRejected(source, f"expected a list, got {type(value).__name__}", record=key, field=name)
    out = []
    for part in parts:
        text = part.get("name") if isinstance(part, Mapping) else part
        if not isinstance(text, str):
            raise RecordRejected(source, f"entry {part!r} is not text", record=key, field=name)
        cleaned = clean_text(text)
        if cleaned and split_objectives:
            cleaned = _OBJECTIVE_SUFFIX.sub("", cleaned) or None
        if cleaned:
            out.append(cleaned)
    return list(dict.fromkeys(out))


def _names(source: str, key: str, value: Any, name: str) -> list[str]:
    """``[{"name": "Viet Nam"}, ...]`` (or plain strings) -> names; a name may hold a comma."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise RecordRejected(source, f"expected a list, got {type(value).__name__}", record=key, field=name)
    out = []
    for entry in value:
        text = entry.get("name") if isinstance(entry, Mapping) else entry
        if not isinstance(text, str):
            raise RecordRejected(source, f"entry {entry!r} has no name", record=key, field=name)
        cleaned = clean_text(text)
        if cleaned:
            out.append(cleaned)
    return list(dict.fromkeys(out))


def _links(source: str, key: str, value: Any, name: str) -> list[str]:
    """Each document URL of a comma-, semicolon- or line-joined list; a piece that is not one rejects."""
    if value is None:
        return []
    if not isinstance(value, (str, list)):
        raise RecordRejected(source, f"expected a URL, got {type(value).__name__}", record=key, field=name)
    texts = [value] if isinstance(value, str) else value
    out: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            raise RecordRejected(source, f"expected a URL, got {type(text).__name__}", record=key, field=name)
        out.extend(_split_urls(source, key, text, name))
    return list(dict.fromkeys(out))


def _split_urls(source: str, key: str, text: str, name: str) -> list[str]:
    """The URLs of ``text``: a piece with a scheme must be an http(s) URL (``javascript:`` rejects the
    record); words without one ("Not available") are no link and are left to the raw payload."""
    out = []
    for piece in _LINK_SEPARATORS.split(text):
        if "://" not in piece and not piece.lower().startswith(("javascript:", "data:", "file:", "mailto:")):
            continue
        problem = web_url_problem(piece)
        if problem:
            raise RecordRejected(source, f"{piece[:80]!r} is not a document URL: {problem}", record=key, field=name)
        out.append(piece)
    return out


def _documents(source: str, key: str, link: Any) -> dict[str, str]:
    """The notification in English, French and Spanish: a ``{lang: url}`` object or the English link."""
    if link is None:
        return {}
    if isinstance(link, Mapping):
        docs = {str(lang).lower()[:2]: url for lang, url in link.items() if isinstance(url, str) and url.strip()}
        return {lang: url.strip() for lang, url in docs.items() if lang in ("en", "fr", "es")}
    if not isinstance(link, str):
        raise RecordRejected(
            source, f"expected a URL, got {type(link).__name__}", record=key, field="linkToNotification"
        )
    urls = _split_urls(source, key, link, "linkToNotification")
    if not urls:
        return {}
    english = urls[0]
    if not _DDF_LANGUAGE.search(english):
        return {"en": english}
    return {
        lang: _DDF_LANGUAGE.sub(rf"\g<1>{folder}\g<3>", english, count=1)
        for lang, folder in (("en", "t"), ("fr", "u"), ("es", "v"))
    }


def _next_page(url: str, query: Mapping[str, str], page: Mapping[str, Any], count: int) -> str | None:
    """The next page while the API says there are more: page numbers start at 1."""
    if count == 0:
        return None
    try:
        current = int(query.get("page", "1"))
        size = int(query.get("pageSize") or page.get("pageSize") or count)
    except (TypeError, ValueError):
        return None
    total = page.get("totalCount")
    if isinstance(total, int) and not isinstance(total, bool):
        if current * size >= total:
            return None
    elif count < size:
        return None
    parts = urlsplit(url)
    pairs = [(k, str(current + 1) if k == "page" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    if "page" not in query:
        pairs.append(("page", str(current + 1)))
    return urlunsplit(parts._replace(query=urlencode(pairs)))
