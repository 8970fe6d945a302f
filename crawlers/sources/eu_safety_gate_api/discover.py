"""Alert ids for the per-alert API, read from a weekly report's ``reference`` links.

Each alert of a weekly XML report (source eu_safety_gate) carries
``<reference>https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/10095163</reference>``;
since the 2020s reports the number at its end is the id the public API answers to
(``/public/api/notification/10095163``), in the same sequence as the recorded API alerts
(10097862..10098375). Legacy reports (ids below 10000001) link to old five-digit alert pages
that the API does not serve, so only ids from 10000000 up are taken.
"""

from __future__ import annotations

import re

from crawlers.parsers._xml import parse_xml
from crawlers.sources import SourceConfig
from tbt_alert.errors import StructureChanged

_ALERT_DETAIL = re.compile(r"/alertDetail/(\d+)\s*$")
# Below this the reference names a legacy alert page, not an API notification id.
FIRST_API_ID = 10_000_000


def alert_ids(body: bytes, url: str, config: SourceConfig) -> list[str]:
    """The API alert ids of a weekly report, in report order, without repeats."""
    root = parse_xml(body, config.id, document=url, root_field="Safety-Gate")
    if root.tag != "Safety-Gate":
        raise StructureChanged(config.id, f"root element is <{root.tag}>, expected <Safety-Gate>", field="Safety-Gate")
    ids: list[str] = []
    for reference in root.iter("reference"):
        match = _ALERT_DETAIL.search(reference.text or "")
        if match and int(match.group(1)) >= FIRST_API_ID and match.group(1) not in ids:
            ids.append(match.group(1))
    return ids
