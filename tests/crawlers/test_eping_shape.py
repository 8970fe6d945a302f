"""ePing getAll records in the field names the live API uses: SPS keywords, affected members,
proposed entry-into-force, comma-joined document links, the hosts a notification is shown on.

Inline records are constructed (no recorded response is public, see recorded/meta.json); the
fixture assertions read the pages built from real values (the comma-joined links are real).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from crawlers.sources import SourceConfig, load_source
from crawlers.sources.wto_eping.parser import parse
from tests.crawlers.recorded import cases

GETALL = "https://epingalert.org/api/v1/azureSearch/getAll?language=1&domainIds=2&page=1&pageSize=10"


@pytest.fixture(scope="module")
def config() -> SourceConfig:
    return load_source("wto_eping")


def one(config: SourceConfig, record: dict[str, Any], url: str = GETALL) -> Any:
    result = parse(json.dumps({"items": [record], "totalCount": 1}).encode(), url, config)
    assert result.rejected == [], result.rejected
    [item] = result.items
    return item


def rejected_field(config: SourceConfig, record: dict[str, Any]) -> str | None:
    result = parse(json.dumps({"items": [record]}).encode(), GETALL, config)
    assert result.items == []
    [rejected] = result.rejected
    assert "wto_eping" in rejected.reason
    return rejected.field


SPS = {"id": 118548, "documentSymbol": " G/SPS/N/KOR/812", "area": "SPS", "titlePlain": "Frozen shrimps"}


def test_sps_keywords_are_read_as_keywords(config: SourceConfig) -> None:
    record = {
        **SPS,
        "spsKeywords": [{"id": 7, "name": "Food safety"}, {"id": 9, "name": "Pesticides"}],
        "keywords": [{"id": 3, "name": "Food safety"}],
    }
    item = one(config, record)
    assert item.keywords == ["Food safety", "Pesticides"]
    assert "unmapped" not in item.extra


def test_affected_members_are_names_and_a_name_may_hold_a_comma(config: SourceConfig) -> None:
    record = {
        **SPS,
        "countriesAffected": [{"id": 1, "name": "Viet Nam"}, {"id": 2, "name": "Brazil, Rio Grande do Sul"}],
        "allTradingPartners": False,
    }
    item = one(config, record)
    assert item.extra["countries_affected"] == ["Viet Nam", "Brazil, Rio Grande do Sul"]
    assert item.extra["all_trading_partners"] is False


def test_regions_affected_is_no_field_of_the_api_and_is_kept_unread(config: SourceConfig) -> None:
    item = one(config, {**SPS, "regionsAffected": "Malta"})
    assert "countries_affected" not in item.extra
    assert item.extra["unmapped"] == {"regionsAffected": "Malta"}


def test_proposed_entry_into_force_date_and_text(config: SourceConfig) -> None:
    record = {
        **SPS,
        "proposedEntryIntoForceDate": "2026-09-01T00:00:00",
        "proposedEntryIntoForceDateText": "1 September 2026",
        "proposedAdoptionDate": "2026-07-15T00:00:00",
        "proposedAdoptionDateText": "To be determined",
    }
    item = one(config, record)
    assert item.entry_into_force == dt.date(2026, 9, 1)
    assert item.adopted_on is None  # a proposed adoption is not an adoption
    assert item.extra["entry_into_force_text"] == "1 September 2026"
    assert item.extra["proposed_adoption"] == "2026-07-15"
    assert item.extra["adoption_text"] == "To be determined"


def test_entry_into_force_given_only_as_text_stays_text(config: SourceConfig) -> None:
    item = one(config, {**SPS, "proposedEntryIntoForceDateText": "6 months after publication"})
    assert item.entry_into_force is None
    assert item.extra["entry_into_force_text"] == "6 months after publication"


def test_a_bad_entry_into_force_date_rejects_naming_the_field(config: SourceConfig) -> None:
    assert rejected_field(config, {**SPS, "proposedEntryIntoForceDate": "soon"}) == "proposedEntryIntoForceDate"


def test_day_month_year_dates_of_the_new_host(config: SourceConfig) -> None:
    item = one(config, {**SPS, "distributionDate": "06/10/2026"})
    assert item.distributed_on == dt.date(2026, 10, 6)


def test_comma_joined_document_links_become_separate_urls(config: SourceConfig) -> None:
    joined = (
        "https://members.wto.org/crnattachments/2022/TBT/ARE/22_5350_00_e.pdf,"
        "https://members.wto.org/crnattachments/2022/TBT/ARE/22_5350_00_x.pdf\r\nhttps://www.federalregister.gov/d/2025-08864"
    )
    item = one(config, {**SPS, "notifiedDocumentLink": joined})
    assert item.extra["notified_documents"] == [
        "https://members.wto.org/crnattachments/2022/TBT/ARE/22_5350_00_e.pdf",
        "https://members.wto.org/crnattachments/2022/TBT/ARE/22_5350_00_x.pdf",
        "https://www.federalregister.gov/d/2025-08864",
    ]


def test_the_notification_link_of_a_joint_notification_is_one_url_per_language(config: SourceConfig) -> None:
    link = (
        "https://docs.wto.org/imrd/directdoc.asp?DDFDocuments/t/G/TBTN26/ARE703.docx,"
        "https://docs.wto.org/imrd/directdoc.asp?DDFDocuments/t/G/TBTN26/BHR780.docx"
    )
    item = one(config, {**SPS, "linkToNotification": link})
    assert item.documents["en"] == "https://docs.wto.org/imrd/directdoc.asp?DDFDocuments/t/G/TBTN26/ARE703.docx"
    assert item.documents["fr"] == "https://docs.wto.org/imrd/directdoc.asp?DDFDocuments/u/G/TBTN26/ARE703.docx"


def test_a_link_that_is_not_http_rejects_naming_the_field(config: SourceConfig) -> None:
    record = {**SPS, "notifiedDocumentLink": "https://members.wto.org/a.pdf,javascript:alert(1)"}
    assert rejected_field(config, record) == "notifiedDocumentLink"


def test_words_in_the_link_field_are_no_link(config: SourceConfig) -> None:
    item = one(config, {**SPS, "notifiedDocumentLink": "Not available"})
    assert "notified_documents" not in item.extra


def test_fixture_comma_joined_links_are_split(config: SourceConfig) -> None:
    # Real notifiedDocumentLink values of GCC notifications (logationhomo's state.json).
    items = [i for case in cases("wto_eping") for i in case.run()["items"]]
    docs = {d for i in items for d in i["extra"].get("notified_documents", [])}
    assert "https://members.wto.org/crnattachments/2022/TBT/ARE/22_5350_00_x.pdf" in docs
    assert all("," not in d for d in docs)
    affected = {n for i in items for n in i["extra"].get("countries_affected", [])}
    assert "Brazil, Rio Grande do Sul" in affected
    assert not any("regions_affected" in i["extra"] for i in items)


@pytest.mark.parametrize(
    ("url", "shown_on"),
    [
        (GETALL, "https://epingalert.org/en/Search?viewData=118548"),
        (GETALL.replace("epingalert.org", "eping.wto.org"), "https://eping.wto.org/en/Search?viewData=118548"),
        (
            "https://api.wto.org/eping/notifications/search?language=1&domainIds=2&page=1",
            "https://epingalert.org/en/Search?viewData=118548",
        ),
    ],
)
def test_a_notification_is_shown_on_the_ePing_host_that_answered(config: SourceConfig, url: str, shown_on: str) -> None:
    assert one(config, SPS, url).url == shown_on


def test_the_keyed_search_api_pages_like_getall(config: SourceConfig) -> None:
    url = "https://api.wto.org/eping/notifications/search?language=1&domainIds=2&page=1&pageSize=1"
    body = json.dumps({"items": [SPS], "totalCount": 3, "currentPage": 1, "pageSize": 1}).encode()
    result = parse(body, url, config)
    assert [i.kind for i in result.items] == ["sps_notification"]
    assert result.follow == [url.replace("page=1&", "page=2&")]
