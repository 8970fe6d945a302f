"""The search page and its CSV/XLSX export, over ``search.query.search_measures``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from alerts.matching import SuggestionView
from alerts.products import product_line, product_text
from classifiers.hs_threshold import suggestion_threshold
from classifiers.labels import country_label, sector_label
from portal.access import STAFF
from portal.context import portal_of
from portal.i18n import translator
from portal.render import language_of, message_page, page
from portal.searching import (
    MAX_RESULT_WINDOW,
    PAGE_SIZE,
    as_dict,
    build_request,
    export_url,
    highlight,
    page_url,
    request_values,
    toggle_url,
    without_url,
)
from portal.unavailable import public_reason
from tbt_alert.errors import SearchError, ServiceUnavailable

router = APIRouter(include_in_schema=False)

# Facet name in the response -> query-string parameter that filters by it.
FACET_PARAMS = {
    "countries": "country",
    "bri": "bri",
    "sectors": "sector",
    "kinds": "kind",
    "years": "year",
    "open_for_comment": "open",
    "languages": "language",
    "standards": "standard",  # cited standards (issue 27): "IEC 60335", every part and edition
}
EXPORT_COLUMNS = (
    "id",
    "kind",
    "document_symbol",
    "country",
    "title",
    "title_en",
    "products",
    "hs_codes",
    "hs_suggested",  # the classifier's suggestions (code and score), apart from the source's hs_codes
    "sector_codes",
    "language",
    "distributed_on",
    "published_on",
    "comment_deadline",
    "entry_into_force",
    "risk_level",
    "country_of_origin",
    "url",
)
# A spreadsheet is for reading, not for copying the index: the first 5,000 matches.
EXPORT_LIMIT = 5000
EXPORT_PAGE = 100  # search.query.SearchRequest allows at most 100 per page
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE


def run_search(request: Request, values: dict[str, Any]) -> Any:
    from search.query import search_measures

    portal = portal_of(request)
    return search_measures(portal.es(), portal.settings, build_request(values), wait_for_encoder=False)


def _facet_value(facet: str, key: Any) -> str:
    if facet in ("bri", "open_for_comment"):
        # search.query names the open-for-comment bucket "open"; bri buckets are "true"/"false".
        return "1" if str(key).lower() in ("true", "1", "open") else "0"
    return str(key)


def facet_label(facet: str, key: Any, lang: str, words: Mapping[str, str]) -> str:
    """How the facet list names one bucket: countries and sectors by name, the rest from the page's words."""
    value = str(key)
    if facet == "countries":
        return country_label(value, lang, with_code=True) if value else ""
    if facet == "sectors":
        return sector_label(value, lang)
    if facet == "kinds":
        return words.get(f"kind_{value}", value)
    if facet == "languages":
        return words.get(f"lang_{value}", value)  # a language without a name keeps its ISO code
    if facet == "bri":
        return words["bri_yes"] if value in ("true", "1", "True") else words["bri_no"]
    if facet == "open_for_comment":
        return words["open_yes"] if value in ("true", "1", "True", "open") else words["open_no"]
    return value


def facet_view(request: Request, facets: dict[str, Any]) -> list[dict[str, Any]]:
    lang = language_of(request)
    words = translator(lang)
    params = request.query_params
    groups = []
    for name, param in FACET_PARAMS.items():
        buckets = facets.get(name) or []
        entries = []
        for bucket in buckets:
            b = as_dict(bucket)
            key = b.get("key", b.get("value"))
            value = _facet_value(name, key)
            if param in ("bri", "open") and value == "0":
                continue  # a "no" bucket is shown as a count, but filtering by it is not offered
            entries.append(
                {
                    "label": facet_label(name, key, lang, words),
                    "count": b.get("count", b.get("doc_count", 0)),
                    "url": toggle_url(params, param, value),
                    "active": (param, value) in params.multi_items(),
                }
            )
        groups.append({"name": name, "title": words[f"facet_{name}"], "entries": entries})
    return groups


def hit_view(hit: Any) -> dict[str, Any]:
    h = as_dict(hit)
    fields = as_dict(h.get("fields")) or {k: v for k, v in h.items() if k not in ("highlights", "score")}
    highlights = {k: [highlight(f) for f in v] for k, v in (as_dict(h.get("highlights")) or {}).items()}
    return {
        "id": h.get("id") or fields.get("id"),
        "fields": fields,
        "highlights": highlights,
        "hs_match": h.get("hs_match"),
    }


def _suggestions(fields: Mapping[str, Any]) -> list[SuggestionView]:
    return [
        SuggestionView(
            str(s.get("code") or ""), float(s.get("score") or 0.0), s.get("name_zh") or "", s.get("name_en") or ""
        )
        for s in fields.get("hs_suggested") or []
        if isinstance(s, Mapping)
    ]


def hit_products(hits: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    """Each hit with its product line (中文品名（推测）：… · HS 8516.71), as on the measure page; the
    suggestion threshold is read once, and only when a hit has suggestions."""
    lang = language_of(request)
    suggested = [_suggestions(hit["fields"]) for hit in hits]
    threshold = suggestion_threshold(portal_of(request).settings) if any(suggested) else None
    return [
        {
            **hit,
            "product": product_text(
                product_line(hit["fields"].get("hs_codes") or [], s, lang, min_score=threshold), translator(lang)
            ),
            # The reader's name of the country, not its ISO code.
            "country": country_label(hit["fields"]["country"], lang) if hit["fields"].get("country") else "",
        }
        for hit, s in zip(hits, suggested, strict=True)
    ]


def suggested_cell(fields: Mapping[str, Any]) -> str:
    """Suggested codes for a spreadsheet: ``851671 (0.83); 732393 (0.41)``."""
    return "; ".join(f"{s.code} ({s.score:.2f})" for s in _suggestions(fields))


def interpretation_view(params: Any, reading: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the page says about how it read the query: each reading with a link that drops it, the
    dropped ones with a link that restores them, and one link that searches the words as typed; with
    understanding off, a link to switch it back on."""
    from search.understanding import KIND_LABELS, interpret

    q = params.get("q", "")
    would = interpret(q) if q else None
    if would is None or not would.applied:
        return None
    if params.get("understand") in ("0", "false", "off"):
        return {"literal": True, "summary": would.summary_zh(), "redo_url": without_url(params, "understand")}
    active = {f"{item['kind']}:{item['code']}" for item in (reading or {}).get("items") or []}
    entries = [
        {
            "label": f"{KIND_LABELS[item.kind]} {item.label_zh}",
            "text": item.text,
            "active": item.key in active,
            # The same toggle drops a reading and, clicked again, restores it.
            "url": toggle_url(params, "ignore", item.key),
        }
        for item in would.items
    ]
    return {"literal": False, "items": entries, "undo_url": without_url(params, "ignore", ("understand", "0"))}


@router.get("/search", dependencies=[Depends(STAFF)])
def search_page(request: Request) -> Response:
    words = translator(language_of(request))
    values = request_values(request.query_params)
    if values["page"] * PAGE_SIZE > MAX_RESULT_WINDOW:
        return message_page(
            request,
            "bad_request",
            f"page {values['page']} is beyond the first {MAX_RESULT_WINDOW} results; narrow the filters.",
            status=422,
        )
    context: dict[str, Any] = {
        "params": request.query_params,
        "q": request.query_params.get("q", ""),
        "sort": request.query_params.get("sort", "relevance"),
        "error": None,
        "export_csv": export_url(request.query_params, "csv"),
        "export_xlsx": export_url(request.query_params, "xlsx"),
    }
    try:
        result = as_dict(run_search(request, values))
    except ValidationError as exc:
        return message_page(request, "bad_request", "; ".join(e["msg"] for e in exc.errors()), status=422)
    except (ImportError, SearchError, ServiceUnavailable) as exc:
        error = words["search_unavailable"] + (public_reason(exc) or words["search_try_later"])
        return page(request, "search.html", {**context, "error": error}, status=503)
    total = int(result.get("total") or 0)
    current = values["page"]
    # Relevance order with a query vector pages through the fused list only (search.dense.WINDOW).
    pageable = min(total, int(result.get("pageable") or MAX_RESULT_WINDOW))
    last = max(1, -(-pageable // PAGE_SIZE))
    context.update(
        {
            "total": total,
            "dense_pending": bool(result.get("dense_pending")),
            "hits": hit_products([hit_view(h) for h in result.get("hits") or []], request),
            "facets": facet_view(request, as_dict(result.get("facets"))),
            "page_no": current,
            "prev_url": page_url(request.query_params, current - 1) if current > 1 else None,
            "next_url": page_url(request.query_params, current + 1) if current < last else None,
            "sort_urls": {s: toggle_url(request.query_params, "sort", s) for s in ("relevance", "date", "deadline")},
            "interpretation": interpretation_view(request.query_params, as_dict(result.get("interpretation"))),
        }
    )
    return page(request, "search.html", context)


def export_rows(request: Request) -> list[dict[str, Any]]:
    """The matches in the page's order, paged with search_after (deep pages never hit from+size limits)."""
    rows: list[dict[str, Any]] = []
    values = request_values(request.query_params, page=1, size=EXPORT_PAGE)
    while len(rows) < EXPORT_LIMIT:
        result = as_dict(run_search(request, values))
        for hit in (hit_view(h) for h in result.get("hits") or []):
            fields = hit["fields"]
            row = {c: _cell(fields.get(c) if c != "id" else hit["id"]) for c in EXPORT_COLUMNS}
            row["hs_suggested"] = suggested_cell(fields)
            rows.append(row)
        if not result.get("search_after"):
            break
        values = {**values, "search_after": result["search_after"]}
    return rows[:EXPORT_LIMIT]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    # C0 control characters (a source's stray \x0b or \x00) are not allowed in XLSX (openpyxl refuses the
    # cell) and mean nothing in a CSV: removed. Tab, newline and carriage return stay.
    text = _CONTROL.sub("", str(value))
    # Spreadsheet formula injection: a cell from source data must never start a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _export_or_error(request: Request) -> list[dict[str, Any]] | Response:
    from portal.busy import busy, who

    with portal_of(request).costly.slot(who(request)) as granted:
        if not granted:
            return busy(request)
        return _export_rows_or_error(request)


def _export_rows_or_error(request: Request) -> list[dict[str, Any]] | Response:
    try:
        return export_rows(request)
    except ValidationError as exc:
        return message_page(request, "bad_request", "; ".join(e["msg"] for e in exc.errors()), status=422)
    except (ImportError, SearchError, ServiceUnavailable) as exc:
        words = translator(language_of(request))
        error = words["search_unavailable"] + (public_reason(exc) or words["search_try_later"])
        return message_page(request, "bad_request", error, status=503)


@router.get("/search/export.csv", dependencies=[Depends(STAFF)])
def export_csv(request: Request) -> Response:
    rows = _export_or_error(request)
    if isinstance(rows, Response):
        return rows
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a BOM, so Excel opens the Chinese text as UTF-8
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tbt-measures.csv"'},
    )


@router.get("/search/export.xlsx", dependencies=[Depends(STAFF)])
def export_xlsx(request: Request) -> Response:
    from openpyxl import Workbook

    rows = _export_or_error(request)
    if isinstance(rows, Response):
        return rows
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("measures")
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        sheet.append([row[c] for c in EXPORT_COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return StreamingResponse(
        buffer,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="tbt-measures.xlsx"'},
    )
