"""Bulk indexing that reports every failed document by id and reason, never swallowing one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from search.client import guarded
from tbt_alert.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


@dataclass(frozen=True)
class DocumentError:
    """One document Elasticsearch refused."""

    doc_id: str
    action: str
    status: int
    reason: str

    def __str__(self) -> str:
        return f"{self.action} {self.doc_id}: HTTP {self.status} {self.reason}"


@dataclass
class BulkReport:
    indexed: int = 0
    deleted: int = 0
    errors: list[DocumentError] = field(default_factory=list)

    @property
    def failed_ids(self) -> list[str]:
        return sorted({e.doc_id for e in self.errors})


def index_action(index: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {"_op_type": "index", "_index": index, "_id": str(doc["id"]), "_source": doc}


def delete_action(index: str, doc_id: str) -> dict[str, Any]:
    return {"_op_type": "delete", "_index": index, "_id": doc_id}


def _error(op: str, item: dict[str, Any]) -> DocumentError:
    error = item.get("error")
    if isinstance(error, dict):
        reason = f"{error.get('type')}: {error.get('reason')}"
        caused = error.get("caused_by")
        if isinstance(caused, dict):
            reason += f" (caused by {caused.get('type')}: {caused.get('reason')})"
    else:
        reason = str(error or item.get("result"))
    return DocumentError(str(item.get("_id")), op, int(item.get("status", 0)), reason)


def send(
    client: Elasticsearch,
    settings: Settings,
    actions: Iterable[dict[str, Any]],
    *,
    chunk_size: int = 1000,
    threads: int = 1,
) -> BulkReport:
    """Send ``actions``; per-document failures land in the report, transport failures raise."""
    from elasticsearch import helpers

    report = BulkReport()
    common: dict[str, Any] = {
        "chunk_size": chunk_size,
        "max_chunk_bytes": 20 * 1024 * 1024,
        "raise_on_error": False,
        "raise_on_exception": True,
    }
    with guarded(settings, "bulk-index documents"):
        if threads > 1:
            results = helpers.parallel_bulk(client, actions, thread_count=threads, queue_size=threads, **common)
        else:
            results = helpers.streaming_bulk(client, actions, max_retries=2, **common)
        for ok, result in results:
            ((op, item),) = result.items()
            if op == "delete" and item.get("status") == 404:
                continue  # already gone: the goal of a delete is met
            if not ok:
                report.errors.append(_error(op, item))
            elif op == "delete":
                report.deleted += 1
            else:
                report.indexed += 1
    return report
