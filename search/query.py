"""The query API used by the CLI, the portal and bulletins: full text, filters, facets, pages.

User text only ever reaches Elasticsearch through ``simple_query_string``, which never
raises a syntax error (``" ( ) : / \\ * ~ ^ AND OR`` are operators or plain characters, never
a 400). Runs of Chinese characters are searched as phrases: the core ``standard`` analyzer
splits CJK into single characters, and 阻燃 must not match every text with 阻 and 燃 far apart.

The HS prefix filter finds a measure by the codes its source lists or, where the source lists
none, by the codes the classifier suggests above the match threshold (``hs_source="declared"``
keeps to the source's codes); a hit found through a suggestion says so (``hs_match``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from search.client import guarded
from search.mappings import CHINESE_FIELDS, HIGHLIGHT_FIELDS
from search.names import alias
from search.timing import span
from search.understanding import Interpretation, Recognised, interpret
from tbt_alert.errors import SearchError
from tbt_alert.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

# Searched fields and their weights: a word in the title says more than one in the description.
TEXT_FIELDS = {
    "title": 3.0,
    "title_en": 3.0,
    "document_symbol.text": 4.0,
    "products": 2.0,
    "keywords": 2.0,
    "translations.text": 1.5,
    "description": 1.0,
    "objectives": 1.0,
    "hazard": 1.0,
    "risk_type": 1.0,
    "product_type": 1.5,
    "category": 1.0,
    "brand": 1.5,
    "measures_taken": 0.5,
    "country_name_en": 1.0,
    # Chinese names of the measure's sectors, markets and suggested HS codes (search.documents).
    "sectors_zh": 2.0,
    "markets_zh": 1.0,
    "hs_names_zh": 1.0,
}
# Understood queries: a measure tagged with the sector the query names outranks one that only
# shares its words (a BM25 score of a few words is rarely above 10); an HS code or Chinese origin
# the query names counts less, being a weaker sign of what the reader wants.
SECTOR_BOOST = 10.0
HS_BOOST = 5.0
ORIGIN_BOOST = 3.0
MAX_RESULT_WINDOW = 10_000  # Elasticsearch's default index.max_result_window
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
# Sort keys end with the id so that equal dates never make search_after skip or repeat a hit.
_SORTS: dict[str, list[dict[str, Any]]] = {
    "relevance": [{"_score": "desc"}, {"date": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
    "date": [{"date": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
    "deadline": [{"comment_deadline": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
}


class SearchRequest(BaseModel):
    """What a reader asks for; every filter is optional and they combine with AND."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=1000)
    countries: list[str] = Field(default_factory=list)  # alpha-3 codes or names (English/Chinese)
    bri_only: bool = False
    eu_only: bool = False
    sectors: list[str] = Field(default_factory=list)
    hs_prefix: str | None = None
    # any: the source's codes or, where it lists none, codes suggested above the threshold (推测);
    # declared: the source's codes only.
    hs_source: Literal["any", "declared"] = "any"
    # Cited standards, as typed ("IEC 60335", "EN 71-3:2019", "ГОСТ Р 51558"): every part and
    # edition of each, and the same standard under its other designation (search.documents).
    standards: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    open_for_comment: bool | None = None  # True: deadline today or later; False: closed or none
    deadline_within_days: int | None = Field(default=None, ge=0, le=3650)
    risk_levels: list[str] = Field(default_factory=list)
    origin_china: bool | None = None
    sort: Literal["relevance", "date", "deadline"] = "relevance"
    page: int = Field(default=1, ge=1)
    size: int = Field(default=20, ge=1, le=100)
    search_after: list[Any] | None = None
    as_of: dt.date | None = None  # the day "open for comment" is judged on; default today (UTC)
    # Query understanding (search.understanding): on, a sector or country the text names also
    # matches by tag or filters by market; `understand=False` searches the words as they are, and
    # `ignore` switches off single readings by key ("sector:toys", "country:DEU").
    understand: bool = True
    ignore: list[str] = Field(default_factory=list)
    # hybrid: BM25 and the query's sentence vector fused (a Chinese query finds English measures);
    # bm25: words only; dense: the vector only. Without an encoder, hybrid is BM25.
    retrieval: Literal["hybrid", "bm25", "dense"] = "hybrid"

    @field_validator("countries")
    @classmethod
    def _countries(cls, values: list[str]) -> list[str]:
        from tbt_alert.countries import to_alpha3

        codes = []
        for value in values:
            code = to_alpha3(value)
            if code is None:
                raise ValueError(f"unknown country {value!r}; use an ISO alpha-3 code (RUS) or a country name")
            codes.append(code)
        return codes

    @field_validator("hs_prefix")
    @classmethod
    def _hs_prefix(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        digits = re.sub(r"[\s.]", "", value)  # 9503.00 and 9503 00 are written forms of 950300
        if not re.fullmatch(r"\d{1,10}", digits):
            raise ValueError(f"HS prefix {value!r} is not 1-10 digits; write it like 9503 or 9503.00")
        return digits

    @field_validator("standards")
    @classmethod
    def _standards(cls, values: list[str]) -> list[str]:
        from classifiers.standards import standard_key

        keys = []
        for value in values:
            key = standard_key(value)
            if key is None:
                raise ValueError(f"{value!r} is not a standard designation; write it like IEC 60335 or EN 71-3")
            keys.append(key)
        return keys

    @field_validator("kinds", "languages", "risk_levels", "sectors")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values if v.strip()]


class FacetBucket(BaseModel):
    key: str
    count: int


class SearchHit(BaseModel):
    id: str
    score: float | None
    fields: dict[str, Any]
    highlights: dict[str, list[str]] = Field(default_factory=dict)  # HTML-escaped, matches in <mark>
    open_for_comment: bool = False
    sort: list[Any] = Field(default_factory=list)
    # With an HS prefix filter: whether the hit matched through a code its source lists ("declared")
    # or only through a suggested code ("suggested", 推测); None without the filter.
    hs_match: Literal["declared", "suggested"] | None = None


class SearchResponse(BaseModel):
    total: int
    took_ms: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetBucket]]
    search_after: list[Any] | None = None  # pass back for the next page; None on the last page
    # What the query was read as (None: no text, or understanding switched off).
    interpretation: Interpretation | None = None
    # What answered: bm25, dense or hybrid (bm25 where no query vector could be made).
    retrieval: str = "bm25"
    # True when the query's vector could not be made yet (the encoder still loading): words only.
    dense_pending: bool = False
    # How many hits can be paged: the fused list's length in relevance order with a query vector
    # (at most two WINDOWs); None: up to Elasticsearch's result window.
    pageable: int | None = None


class BulletinHit(BaseModel):
    id: int
    fields: dict[str, Any]


class BulletinSearchResponse(BaseModel):
    total: int
    hits: list[BulletinHit]


def prepare_text(q: str) -> str:
    """User text for simple_query_string, outside quoted phrases: CJK runs become phrases, and the
    words AND, OR, NOT (upper case, as people type them) become the operators ``+ | -``."""
    parts = q.split('"')
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        part = _CJK_RUN.sub(lambda m: f'"{m.group(0)}"', parts[i])
        part = re.sub(r"(?<!\S)OR(?!\S)", "|", part)
        part = re.sub(r"(?<!\S)AND(?!\S)", "+", part)
        parts[i] = re.sub(r"(?<!\S)NOT\s+", "-", part)
    return '"'.join(parts)


# Where a glossary form in another language (jouet*, игрушк*) can occur: the measure's own text.
# The Chinese name fields, codes, brands and countries never hold one, and every field searched
# costs a prefix expansion per form.
FORM_FIELDS = ("title", "title_en", "products", "description", "translations.text", "hazard", "product_type")


def _text_fields(names: Sequence[str] | None = None) -> list[str]:
    chosen = TEXT_FIELDS if names is None else {name: TEXT_FIELDS[name] for name in names}
    fields = [f"{name}^{boost:g}" for name, boost in chosen.items()]
    # The .zh sub-fields exist only where the cluster has a Chinese analyzer; absent fields are ignored.
    fields += [f"{name}.zh^{TEXT_FIELDS.get(name, 1.0):g}" for name in CHINESE_FIELDS if name in chosen]
    return fields


def hs_filter(prefix: str, source: str = "any") -> dict[str, Any]:
    """Measures with an HS code under ``prefix``: declared by the source, or (``any``) suggested."""
    declared = {"prefix": {"hs_codes": prefix}}
    if source == "declared":
        return declared
    return {"bool": {"should": [declared, {"prefix": {"hs_suggested_codes": prefix}}], "minimum_should_match": 1}}


def hs_match(fields: dict[str, Any], prefix: str | None) -> Literal["declared", "suggested"] | None:
    """How a hit answered the HS prefix filter: by a code its source lists, or by a suggestion."""
    if not prefix:
        return None
    declared = ("".join(ch for ch in str(code) if ch.isdigit()) for code in fields.get("hs_codes") or ())
    if any(code.startswith(prefix) for code in declared):
        return "declared"
    if any(str(code).startswith(prefix) for code in fields.get("hs_suggested_codes") or ()):
        return "suggested"
    return None


TEXT_QUERY_FLAGS = "AND|OR|NOT|PHRASE|PRECEDENCE|WHITESPACE|ESCAPE|PREFIX"


def _text_query(text: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "simple_query_string": {
            "query": prepare_text(text),
            "fields": _text_fields(fields),
            "default_operator": "and",
            "lenient": True,
            # No fuzzy (a~2), near or slop operators: each expands a term over ~20 fields, and a query
            # of a few hundred of them ties up the cluster (review L3). Prefixes stay: the glossary's
            # forms (jouet*) need them, and the cluster bounds their expansion (max_clause_count).
            "flags": TEXT_QUERY_FLAGS,
        }
    }


def interpretation(request: SearchRequest) -> Interpretation | None:
    """How ``request.q`` is read, or None without text or with understanding off."""
    if not request.q or not request.understand:
        return None
    return interpret(request.q, request.ignore)


def _reading(item: Recognised) -> dict[str, Any]:
    """One recognised thing as a required clause: its tag or code, or its words in any language.

    The reader's own words always stay an alternative, so understanding can only add hits to what
    the words find; the tag scores above the words (SECTOR_BOOST), so tagged measures come first.
    """
    # Each word the reader used for it (充电器, 电子产品) is an alternative, searched everywhere; so is
    # any glossary form, searched in the measure's own text in one clause (toy* | jouet* | игрушк*).
    words = list(dict.fromkeys(item.text.split()))
    either = [_text_query(w) for w in words]
    forms = [f for f in dict.fromkeys(item.forms) if f not in words]
    if forms:
        either.append(_text_query(" | ".join(forms), FORM_FIELDS))
    if item.kind == "sector":
        either.append({"constant_score": {"filter": {"terms": {"sector_codes": item.codes}}, "boost": SECTOR_BOOST}})
    elif item.kind == "hs":
        codes = [hs_filter(code) for code in item.codes]
        either.append({"constant_score": {"filter": {"bool": {"should": codes}}, "boost": HS_BOOST}})
    elif item.kind == "origin":
        either.append({"constant_score": {"filter": {"term": {"origin_china": True}}, "boost": ORIGIN_BOOST}})
    return {"bool": {"should": either, "minimum_should_match": 1}}


def _understood(reading: Interpretation, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The required clauses of an interpreted query; a named country (several: any of them) filters
    the markets as the country facet does."""
    must = [_reading(item) for item in reading.items if item.kind != "country"]
    markets = sorted({code for item in reading.items if item.kind == "country" for code in item.codes})
    if markets:
        filters.append({"terms": {"markets": markets}})
    if reading.free_text:
        must.append(_text_query(reading.free_text))
    return must


def _text_clauses(request: SearchRequest, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The required clauses of the text: as understood, else the words as they are."""
    reading = interpretation(request)
    if reading is not None and reading.applied:
        return _understood(reading, filters)
    return [_text_query(request.q)] if request.q else []


def filter_query(request: SearchRequest) -> dict[str, Any]:
    """The request's filters without its words (the kNN search's filter), but with the filters the
    words imply: a country the query names holds for the nearest measures too."""
    query = build_query(request)["bool"]
    return {"bool": {**query, "must": [{"match_all": {}}]}}


def build_query(request: SearchRequest) -> dict[str, Any]:
    """The bool query for ``request`` (exposed for tests and the benchmark)."""
    today = request.as_of or dt.datetime.now(dt.UTC).date()
    filters: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    must = _text_clauses(request, filters)
    if request.countries:
        filters.append({"terms": {"markets": request.countries}})
    if request.bri_only:
        filters.append({"term": {"bri": True}})
    if request.eu_only:
        filters.append({"term": {"eu": True}})
    if request.sectors:
        filters.append({"terms": {"sector_codes": request.sectors}})
    if request.hs_prefix:
        filters.append(hs_filter(request.hs_prefix, request.hs_source))
    for key in request.standards:  # each standard asked for must be cited (AND, like the other filters)
        filters.append({"term": {"standard_keys": key}})
    if request.kinds:
        filters.append({"terms": {"kind": request.kinds}})
    if request.languages:
        filters.append({"terms": {"languages": request.languages}})
    if request.date_from or request.date_to:
        span = {}
        if request.date_from:
            span["gte"] = request.date_from.isoformat()
        if request.date_to:
            span["lte"] = request.date_to.isoformat()
        filters.append({"range": {"date": span}})
    open_clause = {"range": {"comment_deadline": {"gte": today.isoformat()}}}
    if request.open_for_comment is True:
        filters.append(open_clause)
    elif request.open_for_comment is False:
        must_not.append(open_clause)
    if request.deadline_within_days is not None:
        last = today + dt.timedelta(days=request.deadline_within_days)
        filters.append({"range": {"comment_deadline": {"gte": today.isoformat(), "lte": last.isoformat()}}})
    if request.risk_levels:
        filters.append({"terms": {"risk_level": request.risk_levels}})
    if request.origin_china is not None:
        filters.append({"term": {"origin_china": request.origin_china}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters, "must_not": must_not}}


def _aggregations(today: dt.date) -> dict[str, Any]:
    return {
        "countries": {"terms": {"field": "markets", "size": 60}},
        "sectors": {"terms": {"field": "sector_codes", "size": 60}},
        "standards": {"terms": {"field": "standard_keys", "size": 30}},
        "kinds": {"terms": {"field": "kind", "size": 10}},
        "years": {
            "date_histogram": {"field": "date", "calendar_interval": "year", "format": "yyyy", "min_doc_count": 1}
        },
        "languages": {"terms": {"field": "languages", "size": 40}},
        "bri": {"terms": {"field": "bri", "size": 2}},
        "open_for_comment": {"filter": {"range": {"comment_deadline": {"gte": today.isoformat()}}}},
    }


def _facets(aggs: dict[str, Any]) -> dict[str, list[FacetBucket]]:
    facets: dict[str, list[FacetBucket]] = {}
    for name, agg in aggs.items():
        if "buckets" in agg:
            facets[name] = [
                FacetBucket(key=str(b.get("key_as_string", b["key"])), count=b["doc_count"]) for b in agg["buckets"]
            ]
        else:
            facets[name] = [FacetBucket(key="open", count=agg["doc_count"])]
    facets["years"].sort(key=lambda b: b.key, reverse=True)
    return facets


def with_nearest(query: dict[str, Any], nearest: Sequence[str], *, words: bool = True) -> dict[str, Any]:
    """``query`` widened to the measures nearest the query's vector: its text clause OR their ids
    (``words=False``: their ids instead of it); its filters still hold for every hit."""
    clause = query["bool"]
    ids = {"ids": {"values": list(nearest)}}
    must = [{"bool": {"should": [*clause["must"], ids], "minimum_should_match": 1}}] if words else [ids]
    return {"bool": {**clause, "must": must}}


_HIGHLIGHT: dict[str, Any] = {
    "encoder": "html",  # fragments are safe to put into a page as they are
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "fields": {name: {"number_of_fragments": 2, "fragment_size": 160} for name in HIGHLIGHT_FIELDS},
}


def search_bodies(
    request: SearchRequest, nearest: Sequence[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two requests one search sends together (msearch): the page of hits, and total + facets.

    Split because the facet request has ``size: 0``, which Elasticsearch's shard request cache
    keeps until the next refresh: the same filters asked again (a landing page, a facet click
    back) cost nothing, and the hit request skips counting. ``nearest``: the ids of the measures
    nearest the query's vector, which the hits (sorted by date or deadline) and the facets take in.
    """
    today = request.as_of or dt.datetime.now(dt.UTC).date()
    query = build_query(request)
    if nearest is not None:
        query = with_nearest(query, nearest, words=request.retrieval != "dense")
    hits: dict[str, Any] = {
        "query": query,
        "sort": _SORTS[request.sort],
        "size": request.size,
        "track_total_hits": False,
        "highlight": _HIGHLIGHT,
    }
    if request.search_after is not None:
        hits["search_after"] = request.search_after
    else:
        start = (request.page - 1) * request.size
        if start + request.size > MAX_RESULT_WINDOW:
            raise SearchError(
                f"page {request.page} of size {request.size} is beyond the first {MAX_RESULT_WINDOW} hits; "
                "page further with search_after"
            )
        hits["from"] = start
    facets = {"query": query, "size": 0, "track_total_hits": True, "aggs": _aggregations(today)}
    return hits, facets


def _answer(response: dict[str, Any], name: str) -> dict[str, Any]:
    error = response.get("error")
    if error is None:
        return response
    if isinstance(error, dict) and error.get("type") == "index_not_found_exception":
        raise SearchError(f"there is no index {name} yet; build it with `tbt-alert index rebuild`")
    reason = f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error)
    raise SearchError(f"Elasticsearch refused to search the measures: {reason} (HTTP {response.get('status')})")


def _hit(hit: dict[str, Any], request: SearchRequest, today: dt.date, score: float | None = None) -> SearchHit:
    source = hit["_source"]
    deadline = source.get("comment_deadline")
    return SearchHit(
        id=hit["_id"],
        score=hit.get("_score") if score is None else score,
        fields=source,
        highlights=hit.get("highlight", {}),
        open_for_comment=bool(deadline and dt.date.fromisoformat(deadline[:10]) >= today),
        sort=hit.get("sort", []),
        hs_match=hs_match(source, request.hs_prefix),
    )


def search_measures(
    client: Elasticsearch, settings: Settings, request: SearchRequest, *, wait_for_encoder: bool = True
) -> SearchResponse:
    """Run ``request`` against the live measures index: BM25, and with a query text (unless
    ``retrieval='bm25'``) the measures nearest its sentence vector, fused by reciprocal rank.

    ``wait_for_encoder=False`` (the portal): while the process's encoder is still loading, answer
    with BM25 at once (``dense_pending``) rather than keep a page waiting for the first load.
    """
    name = alias(settings, "measures")
    vector = None
    if request.q and request.retrieval != "bm25":
        from search.dense import dense_available, query_vector

        vector = query_vector(settings, request.q, wait=wait_for_encoder)
        if vector is None and not wait_for_encoder and dense_available(settings):
            response = _run(client, settings, request, name, None)
            return response.model_copy(update={"dense_pending": True})
        if vector is None and request.retrieval == "dense":
            raise SearchError(
                "dense retrieval needs the encoder and the model mode: run `tbt-alert model build` "
                "(TBT_CLASSIFIER_MODE=model), or search with retrieval=bm25"
            )
    if vector is None:
        return _run(client, settings, request, name, None)
    from search.dense import WINDOW, knn_clause

    knn = knn_clause(vector, filter_query(request))
    if request.sort == "relevance":
        return _fused(client, settings, request, name, knn)
    # Sorted by date or deadline: every word match and the nearest measures, in that order.
    with span("elasticsearch"), guarded(settings, "search the measures"):
        found = client.msearch(searches=[{"index": name}, {"knn": knn, "size": WINDOW, "_source": False}])
    nearest = [hit["_id"] for hit in _answer(found["responses"][0], name)["hits"]["hits"]]
    response = _run(client, settings, request, name, nearest)
    return response.model_copy(update={"retrieval": request.retrieval})


def _run(
    client: Elasticsearch, settings: Settings, request: SearchRequest, name: str, nearest: list[str] | None
) -> SearchResponse:
    """The page of hits in Elasticsearch's own order (BM25 score, date or deadline) and the facets."""
    today = request.as_of or dt.datetime.now(dt.UTC).date()
    hits_body, facets_body = search_bodies(request, nearest)
    with span("elasticsearch"), guarded(settings, "search the measures"):
        found = client.msearch(
            searches=[{"index": name}, hits_body, {"index": name, "request_cache": True}, facets_body]
        )
    page, counted = (_answer(r, name) for r in found["responses"])
    hits = [_hit(hit, request, today) for hit in page["hits"]["hits"]]
    last = hits[-1].sort if hits and len(hits) == request.size else None
    return SearchResponse(
        total=counted["hits"]["total"]["value"],
        took_ms=max(page["took"], counted["took"]),
        hits=hits,
        facets=_facets(counted["aggregations"]),
        search_after=last,
        interpretation=interpretation(request),
    )


def fused_searches(
    request: SearchRequest, name: str, knn: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The msearch lines of a relevance-ordered hybrid search (the nearest list, the facets and the
    BM25 list), and the BM25 body whose query highlights the page afterwards."""
    from search.dense import WINDOW

    lexical_body, facets_body = search_bodies(request.model_copy(update={"search_after": None, "page": 1}))
    # Highlighting 100 hits to show 20 cost more than the search: the page is highlighted below.
    lexical_body.update({"size": WINDOW, "from": 0})
    del lexical_body["highlight"]
    if request.retrieval == "dense":
        del facets_body["query"]  # the nearest measures only
    facets_body["knn"] = knn
    searches: list[dict[str, Any]] = [
        {"index": name}, {"knn": knn, "size": WINDOW}, {"index": name, "request_cache": True}, facets_body
    ]  # fmt: skip
    if request.retrieval != "dense":
        searches += [{"index": name}, lexical_body]
    return searches, lexical_body


def _fused(
    client: Elasticsearch, settings: Settings, request: SearchRequest, name: str, knn: dict[str, Any]
) -> SearchResponse:
    """Relevance order with a query vector: the BM25 list and the nearest list fused by reciprocal
    rank, paged in the application (``search_after`` is ``["rrf", offset]``); facets and total
    count every word match and every nearest measure. One round trip: the nearest list, the
    facets (Elasticsearch aggregates a top-level kNN's hits together with the query's matches)
    and the BM25 list go in one msearch."""
    from search.dense import fuse

    today = request.as_of or dt.datetime.now(dt.UTC).date()
    searches, lexical_body = fused_searches(request, name, knn)
    with span("elasticsearch"), guarded(settings, "search the measures"):
        found = client.msearch(searches=searches)
    answers = [_answer(r, name) for r in found["responses"]]
    nearest, counted = answers[0], answers[1]
    knn_hits = {hit["_id"]: hit for hit in nearest["hits"]["hits"]}
    lexical = {hit["_id"]: hit for hit in answers[2]["hits"]["hits"]} if len(answers) > 2 else {}
    fused = fuse(list(lexical), list(knn_hits))
    after = request.search_after
    start = int(after[1]) if after and len(after) == 2 and after[0] == "rrf" else (request.page - 1) * request.size
    page = fused[start : start + request.size]
    marked = _page_highlights(client, settings, name, lexical_body["query"], [d for d, _ in page if d in lexical])
    hits = [
        _hit({**(lexical.get(doc_id) or knn_hits[doc_id]), "highlight": marked.get(doc_id, {})}, request, today, score)
        for doc_id, score in page
    ]
    following = start + request.size
    return SearchResponse(
        total=counted["hits"]["total"]["value"],
        took_ms=max(a["took"] for a in answers),
        hits=hits,
        facets=_facets(counted["aggregations"]),
        search_after=["rrf", following] if following < len(fused) else None,
        retrieval=request.retrieval,
        pageable=len(fused),
        interpretation=interpretation(request),
    )


def _page_highlights(
    client: Elasticsearch, settings: Settings, name: str, query: dict[str, Any], ids: list[str]
) -> dict[str, dict[str, list[str]]]:
    """The word matches of the page's measures that the words found (a measure found only by its
    vector has none to show)."""
    if not ids:
        return {}
    with span("elasticsearch"), guarded(settings, "search the measures"):
        found = client.search(
            index=name,
            query={"bool": {"must": [query], "filter": [{"ids": {"values": ids}}]}},
            size=len(ids),
            source=False,
            highlight=_HIGHLIGHT,
        )
    return {hit["_id"]: hit.get("highlight", {}) for hit in found["hits"]["hits"]}


def search_bulletins(
    client: Elasticsearch,
    settings: Settings,
    *,
    measure_id: str | None = None,
    subscriber_email: str | None = None,
    q: str | None = None,
    size: int = 20,
) -> BulletinSearchResponse:
    """Bulletins, newest first: those that carried a measure, went to a subscriber, or match text."""
    from elasticsearch import NotFoundError

    filters: list[dict[str, Any]] = []
    must: list[dict[str, Any]] = []
    if measure_id:
        filters.append({"term": {"measure_ids": measure_id}})
    if subscriber_email:
        filters.append({"term": {"subscriber_email": subscriber_email.strip()}})
    if q:
        must.append(
            {
                "simple_query_string": {
                    "query": prepare_text(q),
                    "fields": ["subject^2", "text", "subscriber_name", "company"],
                    "default_operator": "and",
                    "lenient": True,
                }
            }
        )
    name = alias(settings, "bulletins")
    with guarded(settings, "search the bulletins"):
        try:
            result = client.search(
                index=name,
                query={"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
                sort=[{"created_at": "desc"}, {"id": "desc"}],
                size=size,
                track_total_hits=True,
                source_excludes=["text"],
            )
        except NotFoundError:
            raise SearchError(f"there is no index {name} yet; build it with `tbt-alert index rebuild`") from None
    return BulletinSearchResponse(
        total=result["hits"]["total"]["value"],
        hits=[BulletinHit(id=int(h["_id"]), fields=h["_source"]) for h in result["hits"]["hits"]],
    )
