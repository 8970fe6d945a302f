"""What a crawl (or an import through the crawl's stages) ended with, and the command's exit code.

Its own module so that what stores a run (``crawlers.run``, the ePing workbook import and its
fallback) can share it without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_EXIT_CODES = {"success": 0, "partial": 3, "failed": 1}


@dataclass(frozen=True)
class CrawlOutcome:
    run_id: int
    source_id: str
    status: str  # success, partial, failed
    seen: int
    new: int
    changed: int
    unchanged: int
    rejected: int
    suspicious: bool
    error: str | None
    log_path: Path | None = None

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES.get(self.status, 1)


def exit_code(outcomes: list[CrawlOutcome]) -> int:
    """1 if any crawl failed, 3 if any was partial, else 0."""
    codes = {o.exit_code for o in outcomes}
    return 1 if 1 in codes else 3 if 3 in codes else 0
