"""The score from which a suggested HS code counts: it answers an HS subscription, is
filterable in the index and names the product. Read from ``hs_index.json`` alone, so the
portal and the bulletins know it without loading the index or the encoder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tbt_alert.errors import ClassifierError

if TYPE_CHECKING:
    from tbt_alert.settings import Settings

META_FILE = "hs_index.json"


def suggestion_threshold(settings: Settings) -> float:
    """The score from which a suggestion counts (answers an HS subscription, is filterable, names
    the product): TBT_HS_SUGGESTION_MIN_SCORE, else the one calibrated with the HS index."""
    if settings.hs_suggestion_min_score is not None:
        return settings.hs_suggestion_min_score
    return match_threshold()


def match_threshold(folder: Path | None = None) -> float:
    """The calibrated score from which a suggestion answers an HS subscription, read from
    ``hs_index.json`` alone (composing bulletins loads neither the index nor the encoder)."""
    from classifiers.head import HEAD_DIR

    path = (folder or HEAD_DIR) / META_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return float(document["meta"]["match_threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClassifierError(f"{path} gives no match_threshold ({exc}); run `tbt-alert train`.") from exc
