"""Once-only bookkeeping for the stages: a key in ``pipeline_state`` marks a thing as done.

A stage that must act at most once for its data interval (mail a report, alert the
operator about one failure) claims a key in the same transaction as the act itself;
a rerun of the same interval finds the key and does nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from schema.models import PipelineState


def claim(session: Session, key: str, value: dict[str, Any] | None = None) -> bool:
    """Record ``key`` as done; False when it already was, so the caller must not act again.

    Two concurrent claims of one key cannot both commit: the key is the primary key.
    """
    if session.get(PipelineState, key) is not None:
        return False
    session.add(PipelineState(key=key, value=dict(value or {})))
    session.flush()
    return True


def recall(session: Session, key: str) -> dict[str, Any] | None:
    """What was recorded under ``key``, or None."""
    state = session.get(PipelineState, key)
    return None if state is None else dict(state.value)
