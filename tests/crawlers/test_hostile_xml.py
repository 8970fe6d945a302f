"""Hostile Safety Gate XML (review finding M5): DTDs and entities are refused and the document
quarantined naming source, file and cause; alerts are cut out in linear time; the run goes on.

The fixtures are CONSTRUCTED (tests/fixtures/hostile_xml/README.md), built by tests/crawlers/hostile_xml.py.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time

import pytest
from scrapy.http import XmlResponse

from crawlers.items import Rejected
from crawlers.parsers import get_parser
from crawlers.sources import load_source
from crawlers.sources.eu_safety_gate.spider import EuSafetyGateSpider
from tests.crawlers import hostile_xml
from tests.crawlers.hostile_xml import FIXTURES, LIST_URL, REPORT_URL
from tests.crawlers.recorded import as_json, cases, expected


def _parse(body: bytes, url: str) -> dict[str, object]:
    return as_json(get_parser("eu_safety_gate")(body, url, load_source("eu_safety_gate")))


def _assert_quarantined_for_its_dtd(result: dict[str, object], url: str) -> None:
    assert result["items"] == []
    assert result["follow"] == []
    (reject,) = result["rejected"]  # type: ignore[misc]
    assert reject["source_id"] == "eu_safety_gate"
    assert reject["record_key"] == url
    assert reject["field"] == "DOCTYPE"
    assert reject["reason"].startswith(f"source eu_safety_gate, record {url}, field 'DOCTYPE': ")
    assert "DTD" in reject["reason"]


def test_fixtures_are_marked_constructed_and_match_their_builder() -> None:
    meta = json.loads((FIXTURES / "meta.json").read_text(encoding="utf-8"))
    assert meta["constructed"] is True
    assert meta["recorded"] is False
    built = hostile_xml.built()
    assert set(meta["files"]) == set(built)
    assert all(entry["constructed"] for entry in meta["files"].values())
    for name, data in built.items():
        plain = gzip.decompress(data) if name.endswith(".gz") else data
        assert hostile_xml.read(name) == plain, name
    assert "CONSTRUCTED, not recorded" in (FIXTURES.parent / "README.md").read_text(encoding="utf-8")


def test_a_report_with_a_billion_laughs_dtd_is_quarantined_naming_source_and_file() -> None:
    result = _parse(hostile_xml.read("report_billion_laughs.xml"), REPORT_URL)
    _assert_quarantined_for_its_dtd(result, REPORT_URL)


def test_a_weekly_list_whose_url_comes_from_an_entity_is_quarantined_and_followed_nowhere() -> None:
    result = _parse(hostile_xml.read("weekly_list_entity_url.xml"), LIST_URL)
    _assert_quarantined_for_its_dtd(result, LIST_URL)


def test_the_spider_quarantines_hostile_documents_and_carries_on() -> None:
    spider = EuSafetyGateSpider()
    listing = XmlResponse(LIST_URL, body=hostile_xml.read("weekly_list_entity_url.xml"))
    report = XmlResponse(REPORT_URL, body=hostile_xml.read("report_billion_laughs.xml"))
    out = list(spider.parse(listing)) + list(spider.parse_report(report))
    assert [type(o) for o in out] == [Rejected, Rejected]
    assert [o.record_key for o in out if isinstance(o, Rejected)] == [LIST_URL, REPORT_URL]
    assert spider.fatal is None


@pytest.mark.timeout(120)
def test_a_chain_of_200000_entities_never_reaches_expat() -> None:
    # expat 2.5.0 recursed once per entity and died with SIGSEGV; run it in a child so a crash is a failure.
    script = (
        "import sys\n"
        "from crawlers.parsers import get_parser\n"
        "from crawlers.sources import load_source\n"
        "from tests.crawlers.hostile_xml import entity_chain\n"
        "parse = get_parser('eu_safety_gate')\n"
        "r = parse(entity_chain(200_000), 'https://x.invalid/r', load_source('eu_safety_gate'))\n"
        "print(len(r.items), r.rejected[0].field if r.rejected else None)\n"
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=110, check=False)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == ["0", "DOCTYPE"]


@pytest.mark.timeout(60)
def test_unclosed_notifications_after_the_last_alert_are_cut_in_linear_time() -> None:
    body = hostile_xml.read("report_unclosed_notifications.xml.gz")
    assert len(body) > 600_000
    recorded = next(c for c in cases("eu_safety_gate") if c.name == "current_report_10000122")
    started = time.perf_counter()
    result = _parse(body, recorded.url)
    elapsed = time.perf_counter() - started
    # The old regex needed minutes here; the parse of the clean report takes well under a second.
    assert elapsed < 3.0
    assert result == expected(recorded)
