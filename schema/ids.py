"""Stable ids derived from a source's own key (never from a database sequence)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def measure_id(source_id: str, source_key: str) -> str:
    """The id of a measure: the source plus a digest of its own key, stable across runs.

    Keys are normalised (outer whitespace, inner runs of spaces) because sources such as
    ePing sometimes send the same document symbol with a leading space.
    """
    key = " ".join(source_key.split())
    if not key:
        raise ValueError(f"source {source_id}: a measure needs a non-empty source key")
    digest = hashlib.sha256(f"{source_id}\x1f{key}".encode()).hexdigest()[:20]
    return f"{source_id}-{digest}"


def content_hash(fields: Mapping[str, Any]) -> str:
    """A digest of a record's content, insensitive to key order, for change detection."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
