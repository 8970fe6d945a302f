"""Costly requests, bounded (review L3): a spreadsheet export (up to 50 searches held in memory) and
a report build (charts and a WeasyPrint PDF) run in the request's thread, so without a bound one
logged-in user with a few tabs ties up the thread pool and Elasticsearch for everyone.

Each user runs one costly job at a time, and a process runs at most ``PER_PROCESS`` at once; a
request over either bound is answered at once with 429 and a Retry-After, never queued. Counted per
process: with N uvicorn workers the machine-wide bound is N times this, which is what it can bear.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Two at once leave the rest of a 40-thread pool, and the 2-core machine, to page views and searches.
PER_PROCESS = 2
RETRY_AFTER_SECONDS = 30


class CostlyWork:
    def __init__(self, per_process: int = PER_PROCESS) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._limit = per_process

    @contextmanager
    def slot(self, who: str) -> Iterator[bool]:
        """True while ``who`` holds a slot; False (and nothing held) when they already run one or the
        process is at its bound."""
        with self._lock:
            granted = who not in self._running and len(self._running) < self._limit
            if granted:
                self._running.add(who)
        try:
            yield granted
        finally:
            if granted:
                with self._lock:
                    self._running.discard(who)
