"""Product Safety Australia's RSS feed: the real excerpt, the notice fields, odd feeds."""

from __future__ import annotations

import datetime as dt

import pytest

from crawlers.sources import load_source
from crawlers.sources.au_accc.parser import parse
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases

SOURCE = "au_accc"
FEED = "https://www.productsafety.gov.au/rss/feed.xml/psa_recall"


def _rss_case_body() -> bytes:
    [case] = [c for c in cases(SOURCE) if c.name == "rss_excerpt"]
    return case.body()


def test_each_rss_item_is_a_recall_with_its_notice_fields() -> None:
    result = parse(_rss_case_body(), FEED, load_source(SOURCE))
    assert result.rejected == []
    assert [i.source_key for i in result.items][0] == "bbfbad15-1136-4f39-9948-8c0f946b1a37"
    speaker = result.items[0]
    assert speaker.title == "Yoyo (M) Portable Bluetooth Speakers"
    assert speaker.published_on == dt.date(2026, 9, 29)
    assert (
        speaker.url
        == "https://www.productsafety.gov.au/search-consumer-product-recalls/yoyo-m-portable-bluetooth-speakers"
    )
    assert speaker.description is not None
    assert speaker.description.startswith("Portable rechargeable Bluetooth loudspeakers")
    assert speaker.hazard is not None
    assert "catches fire" in speaker.hazard
    assert speaker.measures_taken is not None
    assert speaker.measures_taken.startswith("Stop using affected products immediately")
    assert speaker.extra["defect"].startswith("The lithium-ion battery pack")
    assert speaker.keywords == ["Lithium-ion batteries", "Home electrical appliances"]
    assert "<guid" in speaker.raw_payload
    assert speaker.raw_payload.startswith("<item>")
    assert len(result.items) == 3
    assert result.follow == []


def test_a_feed_without_a_channel_is_a_structure_change() -> None:
    with pytest.raises(StructureChanged):
        parse(b'<?xml version="1.0"?><rss version="2.0"></rss>', FEED, load_source(SOURCE))


def test_an_item_without_a_title_is_rejected_and_the_others_kept() -> None:
    body = _rss_case_body().replace(b"<title>Yoyo (M) Portable Bluetooth Speakers</title>", b"<title></title>", 1)
    result = parse(body, FEED, load_source(SOURCE))
    assert len(result.items) == 2
    [rejected] = result.rejected
    assert (rejected.record_key, rejected.field) == ("bbfbad15-1136-4f39-9948-8c0f946b1a37", "title")


def test_without_the_notice_date_the_pubdate_is_read() -> None:
    body = _rss_case_body().replace(b'datetime="2026-09-29T12:00:00Z"', b"", 1)
    result = parse(body, FEED, load_source(SOURCE))
    assert result.rejected == []
    first = result.items[0]
    assert first.source_key == "bbfbad15-1136-4f39-9948-8c0f946b1a37"
    assert first.published_on == dt.date(2026, 9, 29)  # pubDate: Tue, 29 Sep 2026 00:00:00 +0000
