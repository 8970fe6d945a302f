"""Safety Gate per-alert API parser: three real French alerts, strict category lookup, arbitrary input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import Request, Response

from crawlers.sources import load_source
from crawlers.sources.eu_safety_gate_api.discover import alert_ids
from crawlers.sources.eu_safety_gate_api.parser import parse
from crawlers.sources.eu_safety_gate_api.spider import EuSafetyGateApiSpider
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases, only_documented_errors

SOURCE = "eu_safety_gate_api"
URL = "https://ec.europa.eu/safety-gate-alerts/public/api/notification/10098375?language=fr"


def test_french_texts_are_kept_with_origin_and_language() -> None:
    [item] = cases(SOURCE)[0].run()["items"]
    assert (item["source_key"], item["language"], item["country_of_origin"]) == ("SR/00939/26@fr", "fr", "CHN")
    assert item["hazard"].startswith("Le produit a de petites pièces")
    assert item["title_en"] is None  # a French response carries no English title


def test_an_unknown_category_quarantines_the_alert() -> None:
    alert = json.loads(cases(SOURCE)[0].body())
    alert["product"]["productCategory"]["name"] = "SPACESHIPS"
    result = parse(json.dumps(alert).encode(), URL, load_source(SOURCE))
    assert result.items == []
    [rejected] = result.rejected
    assert rejected.field == "category"
    assert "SPACESHIPS" in rejected.reason


def test_english_response_sets_the_english_title() -> None:
    alert = json.loads(cases(SOURCE)[2].body())
    alert["product"]["versions"][0]["language"]["key"] = "EN"
    [item] = parse(json.dumps(alert).encode(), URL.replace("language=fr", "language=en"), load_source(SOURCE)).items
    assert item.title_en == item.title
    assert item.source_key == "SR/00484/26@en"


@pytest.mark.parametrize("body", [b"", b"<html/>", b"[]", b'{"id": 1}', b'{"reference": "x", "product": {}}'])
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, URL, load_source(SOURCE))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=10,
)
_top = st.fixed_dictionaries(
    {"id": _json, "reference": _json, "product": _json},
    optional=dict.fromkeys(
        (
            "risk",
            "measureTaken",
            "traceability",
            "country",
            "publicationDate",
            "reactingCountries",
            "versions",
            "webReport",
        ),
        _json,
    ),
)


@settings(max_examples=200, deadline=None)
@given(_top)
def test_arbitrary_alerts_are_an_item_or_a_reject(alert: dict[str, object]) -> None:
    result = only_documented_errors(SOURCE, json.dumps(alert).encode(), URL)
    assert result is not None
    assert len(result.items) + len(result.rejected) == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=20_000))
def test_truncated_alerts(cut: int) -> None:
    body = cases(SOURCE)[1].body()
    only_documented_errors(SOURCE, body[: cut % len(body)], URL)


def _recorded_weekly_report(name: str) -> bytes:
    return gzip.decompress((Path("crawlers/sources/eu_safety_gate/recorded") / name).read_bytes())


def test_alert_ids_are_discovered_from_a_real_weekly_reports_references() -> None:
    body = _recorded_weekly_report("report_10000283.xml.gz")
    ids = alert_ids(body, "report_10000283", load_source(SOURCE))
    # The report of 12/12/2025 lists 93 alerts (../shared/data/safety_gate/MANIFEST.csv), each linking
    # its alert page; the ids are the API's (same sequence as the recorded 10097862..10098375).
    assert len(ids) == body.count(b"<caseNumber>") == 93
    assert len(set(ids)) == 93
    assert all(10_090_000 < int(i) < 10_098_000 for i in ids)


def test_a_legacy_report_yields_no_api_ids() -> None:
    body = _recorded_weekly_report("report_474.xml.gz")
    assert b"/alertDetail/" in body or b"<reference>" in body
    assert alert_ids(body, "report_474", load_source(SOURCE)) == []


def test_without_ids_the_spider_starts_at_the_weekly_list() -> None:
    spider = EuSafetyGateApiSpider()
    assert list(spider.start_urls_for()) == [load_source(SOURCE).base_urls["weekly_list"]]
    given_ids = EuSafetyGateApiSpider(ids="10098375", languages="fr,de")
    assert list(given_ids.start_urls_for()) == [
        "https://ec.europa.eu/safety-gate-alerts/public/api/notification/10098375?language=fr",
        "https://ec.europa.eu/safety-gate-alerts/public/api/notification/10098375?language=de",
    ]


def test_without_ids_the_latest_weekly_report_is_read_and_its_alerts_fetched_in_each_language() -> None:
    recorded = Path("crawlers/sources/eu_safety_gate/recorded")
    spider = EuSafetyGateApiSpider(languages="fr,de")
    listing = Response(
        url=load_source(SOURCE).base_urls["weekly_list"], body=(recorded / "weekly_list.xml").read_bytes()
    )
    [report_request] = [r for r in spider.parse_weekly_list(listing) if isinstance(r, Request)]
    assert "/weeklyReport/detail/xml/" in report_request.url  # the newest report only (no since date)

    report = Response(url=report_request.url, body=_recorded_weekly_report("report_10000283.xml.gz"))
    alert_urls = [r.url for r in spider.parse_weekly_report(report) if isinstance(r, Request)]
    assert len(alert_urls) == 2 * 93
    assert alert_urls[0].endswith("?language=fr")
    assert alert_urls[1] == alert_urls[0].replace("language=fr", "language=de")
    assert all(u.startswith("https://ec.europa.eu/safety-gate-alerts/public/api/notification/") for u in alert_urls)


def test_with_a_since_date_every_report_published_since_is_read() -> None:
    recorded = Path("crawlers/sources/eu_safety_gate/recorded")
    body = (recorded / "weekly_list.xml").read_bytes()
    listing = Response(url=load_source(SOURCE).base_urls["weekly_list"], body=body)
    everything = EuSafetyGateApiSpider(since="2005-01-01")
    requests = [r for r in everything.parse_weekly_list(listing) if isinstance(r, Request)]
    assert len(requests) == body.count(b"<weeklyReport>") > 1
