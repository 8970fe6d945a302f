"""A bulletin item's line of cited standards (issue 27): "引用标准：EN 71-1、EN 71-3".

Read from the measure's text with the extractor (the same reading tagging stores), so the
bulletin needs no extra query. A Chinese counterpart would follow each code as
"EN 71-3 → GB 6675.4（MOD）" once public correspondence data is recorded; none is yet
(``reports/data/standards_correspondence.md``), so the line lists the codes alone.
"""

from __future__ import annotations

from classifiers.standards import record_standards
from schema.models import Measure

MAX_SHOWN = 6  # a long list of parts belongs on the standard page, not in a mail


def standards_line(measure: Measure, lang: str) -> str | None:
    """The codes cited, first cited first, joined the page language's way; None when none."""
    texts = {
        "title": measure.title,
        "title_en": measure.title_en,
        "description": measure.description,
        "products": measure.products,
        "hazard": measure.hazard,
        "measures_taken": measure.measures_taken,
    }
    codes = [s.code for s in record_standards(texts)]
    if not codes:
        return None
    shown = codes[:MAX_SHOWN] + (["…"] if len(codes) > MAX_SHOWN else [])
    return ("、" if lang == "zh" else ", ").join(shown)
