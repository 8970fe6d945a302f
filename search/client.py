"""The Elasticsearch client, and the one place that turns transport failures into our errors.

Every call the search package makes goes through :func:`guarded`, so an unreachable cluster
always reads as one clear sentence (what failed, what to do) instead of a transport traceback,
and the caller (the index stage) can leave its checkpoint where it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tbt_alert.errors import SearchError, SearchUnavailable
from tbt_alert.redact import redact_text, redact_url
from tbt_alert.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


def make_client(settings: Settings, *, request_timeout: float = 30.0) -> Elasticsearch:
    """A client for ``settings.elasticsearch_url``; connecting happens on the first call."""
    from elasticsearch import Elasticsearch

    # Few retries: a stage that cannot reach the cluster should fail fast and let the
    # scheduler retry, rather than hang for minutes inside one task.
    return Elasticsearch(
        settings.elasticsearch_url,
        api_key=settings.elasticsearch_api_key,  # credentials apart from the URL (docs/SCALE_OUT.md)
        request_timeout=request_timeout,
        max_retries=1,
        retry_on_timeout=False,
    )


@contextmanager
def guarded(settings: Settings, action: str) -> Iterator[None]:
    """Re-raise connection failures as SearchUnavailable and API errors as SearchError, naming ``action``.

    The messages name the cluster by its redacted URL and redact the client's own text too (it may
    embed the node URL): they reach the CLI, the portal's pages and API answers, logs and mail.
    """
    from elasticsearch import ApiError, TransportError

    try:
        yield
    except TransportError as exc:  # connection refused, timeouts, TLS: the cluster is not there
        raise SearchUnavailable(
            f"Elasticsearch at {redact_url(settings.elasticsearch_url)} is unreachable while trying to {action} "
            f"({_transport_reason(exc)}); "
            "start it with `tbt-alert services up` or set TBT_ELASTICSEARCH_URL. The database keeps every "
            "change and the next run catches up."
        ) from exc
    except ApiError as exc:
        raise SearchError(f"Elasticsearch refused to {action}: {_reason(exc)}") from exc


def _transport_reason(exc: Exception) -> str:
    """The innermost cause ("[Errno 111] Connection refused"), not five nested wrappers of it."""
    text = redact_text(str(exc))  # before any cut: a URL cut short of its "@" would not be found
    errno = re.search(r"\[Errno -?\d+\][^)\]]*", text)
    if errno:
        return errno.group(0).strip()
    if "timed out" in text.lower():
        return "timed out"
    return f"{type(exc).__name__}: {text[:200]}"


def _reason(exc: Exception) -> str:
    from elasticsearch import ApiError

    if isinstance(exc, ApiError):
        info = exc.info if isinstance(exc.info, dict) else {}
        error = info.get("error")
        if isinstance(error, dict):
            root = (error.get("root_cause") or [error])[0]
            return redact_text(f"{root.get('type')}: {root.get('reason')} (HTTP {exc.meta.status})")
        return redact_text(f"HTTP {exc.meta.status}: {exc.message}")
    return redact_text(str(exc))


@dataclass(frozen=True)
class ClusterInfo:
    """What the cluster offers that changes our mappings."""

    version: str
    plugins: frozenset[str]

    @property
    def chinese_analyzer(self) -> str | None:
        """The best Chinese analyzer every node has, or None for the core `standard` path."""
        if "analysis-smartcn" in self.plugins:
            return "smartcn"  # word segmentation: 阻燃剂 -> 阻燃 剂
        if "analysis-icu" in self.plugins:
            return "icu_analyzer"  # dictionary-based CJK word breaks
        return None


def cluster_info(client: Elasticsearch, settings: Settings) -> ClusterInfo:
    """Version and the plugins installed on *every* node (a plugin on one node only is unusable)."""
    with guarded(settings, "read the node information"):
        nodes = client.nodes.info(filter_path="nodes.*.version,nodes.*.plugins.name")["nodes"]
    versions = sorted({n["version"] for n in nodes.values()})
    plugin_sets = [frozenset(p["name"] for p in n.get("plugins") or []) for n in nodes.values()]
    common = frozenset.intersection(*plugin_sets) if plugin_sets else frozenset()
    return ClusterInfo(version=",".join(versions), plugins=common)
