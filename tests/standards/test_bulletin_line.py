"""A bulletin item lists the standards its measure cites (zh and en), and says nothing when none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from alerts.matching import prepare
from alerts.render import Renderer
from schema.models import Measure
from tbt_alert.settings import Settings

# Safety Gate A12/00323/22's danger text, verbatim (report_10000086.xml.gz).
DANGER = (
    "The product does not comply with the requirements of the Low Voltage Directive nor with European "
    "standards EN 60598-1, EN 60598-2-20, EN 61347-1, EN 60228."
)


def _measure(hazard: str) -> Measure:
    return Measure(
        id="m1", source_id="eu_safety_gate", source_key="A12/00323/22", kind="recall", title="Light chain",
        hazard=hazard, hs_codes=[], keywords=[], documents={}, content_hash="h", sector_tags=[], hs_suggestions=[],
    )  # fmt: skip


def test_the_item_lists_the_cited_standards(make_settings: Callable[..., Settings]) -> None:
    renderer = Renderer(make_settings(), dt.date(2026, 12, 7))
    (candidate,) = prepare([_measure(DANGER)])
    html = renderer.block(candidate, "zh", "html")
    assert "引用标准：EN 60598-1、EN 60598-2-20、EN 61347-1、EN 60228" in html
    text = renderer.block(candidate, "en", "txt")
    assert "Standards cited: EN 60598-1, EN 60598-2-20, EN 61347-1, EN 60228" in text


def test_no_line_without_a_standard(make_settings: Callable[..., Settings]) -> None:
    renderer = Renderer(make_settings(), dt.date(2026, 12, 7))
    (candidate,) = prepare([_measure("Small parts may detach; the toy does not comply with the relevant standards.")])
    assert "引用标准" not in renderer.block(candidate, "zh", "html")
    assert "Standards cited" not in renderer.block(candidate, "en", "txt")
