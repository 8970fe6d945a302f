"""Where a request's time goes: named spans, sent back as a ``Server-Timing`` header.

The portal starts a record per request (:func:`recording`); the search code marks its layers
(``understand``, ``embed``, ``elasticsearch``, ``assemble``) with :func:`span`. Outside a
request nothing is recorded and a span costs one context-variable read. Browsers' developer
tools show the header, and ``bench/bench_portal.py`` adds the spans up per layer.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

_spans: contextvars.ContextVar[list[tuple[str, float]] | None] = contextvars.ContextVar("spans", default=None)


@contextmanager
def recording() -> Iterator[list[tuple[str, float]]]:
    """Record the spans of the code run inside (one request): ``(name, milliseconds)`` in order."""
    spans: list[tuple[str, float]] = []
    token = _spans.set(spans)
    try:
        yield spans
    finally:
        _spans.reset(token)


@contextmanager
def span(name: str) -> Iterator[None]:
    """Time the code inside as ``name`` when a request is being recorded."""
    spans = _spans.get()
    if spans is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        spans.append((name, (time.perf_counter() - start) * 1000.0))


def server_timing(spans: list[tuple[str, float]]) -> str:
    """The ``Server-Timing`` header value: one entry per layer, repeated spans summed."""
    totals: dict[str, float] = {}
    for name, ms in spans:
        totals[name] = totals.get(name, 0.0) + ms
    return ", ".join(f"{name};dur={ms:.1f}" for name, ms in totals.items())
