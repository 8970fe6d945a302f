"""Constructed demo data (see meta.json) and the code that adds it to a database.

The demo subscribers exist so the main job on recorded data composes and mails real
bulletins (to example.com addresses, caught by the local SMTP sink).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tbt_alert.errors import TbtError

if TYPE_CHECKING:
    from tbt_alert.settings import Settings

SUBSCRIBERS = Path(__file__).resolve().parent / "subscribers.csv"


def add_demo_subscribers(settings: Settings, path: Path = SUBSCRIBERS) -> dict[str, Any]:
    """Add the subscribers in ``path``, confirmed, once per database (a second call adds none)."""
    from alerts.subscriptions import import_csv
    from pipeline.bookkeeping import claim
    from schema.engine import session_for

    with session_for(settings) as session:
        if not claim(session, f"demo-subscribers/{path.name}", {"path": str(path)}):
            return {"added": 0, "subscriptions": 0, "note": "already added"}
        outcome = import_csv(session, path, confirmed=True)
        if outcome.errors:
            problems = "; ".join(f"line {line}: {message}" for line, message in outcome.errors)
            raise TbtError(f"{path}: demo subscribers rejected ({problems}); fix the CSV.")
        return {"added": outcome.added, "subscriptions": outcome.subscriptions}
