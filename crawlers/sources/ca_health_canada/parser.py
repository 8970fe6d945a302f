"""Health Canada RSA open data: one JSON array per language of the same records.

The EN file gives the measures (keyed by ``NID``); the FR file gives each record's
French title and page, merged in by the spider (:func:`french_titles`,
:func:`with_french`). The only date the dataset has is "Last updated", used as
the published date and as the ``since`` filter.
"""

from __future__ import annotations

import functools
from typing import Any

from crawlers.items import MeasureItem, ParseResult
from crawlers.parsers._fields import Fields, build, clean_text, json_array_records, parse_date
from crawlers.sources import SourceConfig
from tbt_alert.errors import StructureChanged

_DATE_FORMATS = ("%Y-%m-%d",)
_EN_FIELDS = (
    "NID",
    "Title",
    "URL",
    "Organization",
    "Product",
    "Issue",
    "What you should do",
    "Category",
    "Recall class",
    "Last updated",
    "Archived",
)


def _records(body: bytes, config: SourceConfig) -> list[tuple[Any, str]]:
    records = json_array_records(body, config.id)
    first = next((r for r, _ in records if isinstance(r, dict)), None)
    if records and (first is None or "NID" not in first):
        raise StructureChanged(config.id, "records have no 'NID'", field="NID")
    return records


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    if url == config.base_urls.get("fr"):
        french_titles(body, config)  # checks the structure; the spider merges it into the EN items
        return ParseResult()
    records = _records(body, config)
    if records and isinstance(records[0][0], dict) and "Title" not in records[0][0]:
        raise StructureChanged(config.id, "records have no 'Title'", field="Title")
    result = ParseResult()
    for record, raw in records:
        key = clean_text(record.get("NID")) if isinstance(record, dict) else None
        result.add(build(config, key, raw, functools.partial(_fields, record, key, config)))
    return result


def _fields(record: Any, key: str | None, config: SourceConfig) -> dict[str, Any]:
    from tbt_alert.errors import RecordRejected

    if not isinstance(record, dict):
        raise RecordRejected(config.id, f"a record is a JSON {type(record).__name__}, expected an object", field="")
    f = Fields(config.id, record, key)
    nid = f.text("NID", required=True)
    title = f.text("Title", required=True) or ""
    recall_class = f.take("Recall class")
    if recall_class is not None and not isinstance(recall_class, str):
        raise RecordRejected(config.id, "recall class is not text", record=nid, field="Recall class")
    updated = parse_date(f.text("Last updated"), _DATE_FORMATS, source=config.id, record=nid, field="Last updated")
    archived = f.text("Archived")
    if archived not in (None, "0", "1"):
        raise RecordRejected(config.id, f"Archived is {archived!r}, expected 0 or 1", record=nid, field="Archived")
    url = f.text("URL")
    fields: dict[str, Any] = {
        "source_key": nid,
        "kind": "recall",
        "title": title,
        "products": f.text("Product"),
        "country": config.jurisdiction,
        "category": f.text("Category"),
        "hazard": f.text("Issue"),
        "measures_taken": f.text("What you should do"),
        "risk_level": config.lookup("recall_class", " ".join((recall_class or "").split())),
        "published_on": updated,
        "url": url,
        "documents": {"en": url} if url and "/en/" in url else {},
        "language": "en",
        "extra": {
            k: v
            for k, v in {
                "organization": f.text("Organization"),
                "recall_class": clean_text(recall_class),
                "last_updated": updated.isoformat() if updated else None,
                "archived": archived == "1" if archived is not None else None,
                "is_update": title.lower().startswith("update") or "(updated" in title.lower(),
            }.items()
            if v is not None
        },
    }
    leftover = f.leftover()
    if leftover:
        fields["extra"]["unmapped"] = leftover
    return fields


def french_titles(body: bytes, config: SourceConfig) -> dict[str, dict[str, str]]:
    """NID -> {"title": ..., "url": ...} from the FR file."""
    out: dict[str, dict[str, str]] = {}
    for record, _raw in _records(body, config):
        if not isinstance(record, dict):
            continue
        nid = clean_text(record.get("NID"))
        title = clean_text(record.get("Titre", record.get("Title")))
        url = clean_text(record.get("URL"))
        if nid and title:
            out[nid] = {"title": title, **({"url": url} if url else {})}
    return out


def with_french(item: MeasureItem, french: dict[str, dict[str, str]]) -> MeasureItem:
    """The EN item with the FR title and page of the same record, when the FR file has it."""
    entry = french.get(item.source_key)
    if not entry:
        return item
    documents = dict(item.documents)
    if "url" in entry:
        documents["fr"] = entry["url"]
    return item.model_copy(update={"documents": documents, "extra": {**item.extra, "title_fr": entry["title"]}})
