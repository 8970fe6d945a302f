"""Turning the search page's query string into a ``search.query.SearchRequest`` and back.

Users only ever fill named fields; the search module builds the Elasticsearch query, so no
raw query DSL from a user reaches the cluster.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from starlette.datastructures import QueryParams

# Query-string name -> SearchRequest field, for fields that take several values.
LIST_PARAMS = {
    "country": "countries",
    "sector": "sectors",
    "standard": "standards",  # cited standards (issue 27)
    "kind": "kinds",
    "language": "languages",
    "risk": "risk_levels",
    "ignore": "ignore",  # readings of the query switched off one by one ("sector:toys")
}
SCALAR_PARAMS = (
    "q",
    "hs_prefix",
    "hs_source",
    "date_from",
    "date_to",
    "sort",
    "deadline_within_days",
    "retrieval",  # hybrid (default), bm25 or dense
)
FLAG_PARAMS = {"bri": "bri_only", "eu": "eu_only", "open": "open_for_comment", "china": "origin_china"}
PAGE_SIZE = 20
# Elasticsearch's index.max_result_window (search.query pages with from/size up to it).
MAX_RESULT_WINDOW = 10_000
_HIGHLIGHT_TAG = re.compile(r"&lt;(/?)(em|mark)&gt;")
# Entities the search module's HTML encoder already wrote; escaping them again would show "&amp;lt;".
_DOUBLE_ESCAPED = re.compile(r"&amp;(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")


def request_values(params: QueryParams, *, page: int | None = None, size: int = PAGE_SIZE) -> dict[str, Any]:
    """The SearchRequest fields the query string sets (unset ones keep the model's defaults)."""
    values: dict[str, Any] = {}
    for name, field in LIST_PARAMS.items():
        items = [v for v in params.getlist(name) if v]
        if items:
            values[field] = items
    for name in SCALAR_PARAMS:
        value = params.get(name)
        if value:
            values[name] = value
    for name, field in FLAG_PARAMS.items():
        if params.get(name) in ("1", "true", "on"):
            values[field] = True
    if params.get("understand") in ("0", "false", "off"):
        values["understand"] = False  # the words as typed, no sector or country read into them
    year = params.get("year")
    if year and year.isdigit() and len(year) == 4:
        values.setdefault("date_from", dt.date(int(year), 1, 1).isoformat())
        values.setdefault("date_to", dt.date(int(year), 12, 31).isoformat())
    values["page"] = page if page is not None else max(1, _int(params.get("page"), 1))
    values["size"] = size
    return values


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def build_request(values: Mapping[str, Any]) -> Any:
    from search.query import SearchRequest

    known = set(SearchRequest.model_fields)
    return SearchRequest(**{k: v for k, v in values.items() if k in known})


def toggle_url(params: QueryParams, name: str, value: str) -> str:
    """The search URL with ``name=value`` added, or removed when already there; back to page 1."""
    pairs = [(k, v) for k, v in params.multi_items() if k not in ("page",)]
    if (name, value) in pairs:
        pairs.remove((name, value))
    else:
        if name in ("year", "bri", "open", "eu", "china", "sort"):
            pairs = [(k, v) for k, v in pairs if k != name]
        pairs.append((name, value))
    return "/search?" + urlencode(pairs)


def without_url(params: QueryParams, drop: str | None = None, add: tuple[str, str] | None = None) -> str:
    """The search URL without the parameter ``drop`` and with ``add``, back to page 1."""
    pairs = [(k, v) for k, v in params.multi_items() if k not in ("page", drop)]
    if add:
        pairs.append(add)
    return "/search?" + urlencode(pairs)


def page_url(params: QueryParams, page: int, path: str = "/search") -> str:
    pairs = [(k, v) for k, v in params.multi_items() if k != "page"]
    if page > 1:
        pairs.append(("page", str(page)))
    return path + "?" + urlencode(pairs)


def export_url(params: QueryParams, fmt: str) -> str:
    pairs = [(k, v) for k, v in params.multi_items() if k not in ("page",)]
    return f"/search/export.{fmt}?" + urlencode(pairs)


def highlight(fragment: str) -> Markup:
    """Escape a highlighted fragment, then turn only the highlight tags back into <mark>.

    ``search.query`` already HTML-encodes fragments; we escape again anyway (defence in
    depth: a fragment is source text), then restore the entities it wrote and our <mark>.
    The only markup that survives is <mark>.
    """
    escaped = _DOUBLE_ESCAPED.sub(r"&\1;", str(escape(fragment)))
    return Markup(_HIGHLIGHT_TAG.sub(lambda m: f"<{m.group(1)}mark>", escaped))


def as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        dumped: dict[str, Any] = obj.model_dump()
        return dumped
    return dict(vars(obj))
