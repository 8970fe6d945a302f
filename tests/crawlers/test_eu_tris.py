"""EU TRIS parser: real research-dataset rows, a constructed notification page, bad rows, arbitrary input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.sources import load_source
from crawlers.sources.eu_tris.parser import parse
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases, meta, only_documented_errors

SOURCE = "eu_tris"
CSV_URL = "https://raw.githubusercontent.com/jfjelstul/eutr/x/build-database/EUTR-notifications.csv"
PAGE_URL = "https://technical-regulation-information-system.ec.europa.eu/en/notification/27983"
HEADER = (
    '"key_ID","notification_ID","notification_by_ID","notification_by","notification_by_code","start_date",'
    '"start_year","end_date","end_year","postponement","comments","count_comments","commission_comment",'
    '"opinions","count_opinions","commission_opinion"\n'
)


def test_the_page_fixture_is_marked_constructed_and_the_csv_real() -> None:
    assert {c["name"]: c["constructed"] for c in meta(SOURCE)["cases"]} == {
        "research_csv_sample": False,
        "notification_page_constructed": True,
    }


def test_standstill_end_is_the_comment_deadline_and_commission_codes_map() -> None:
    items = {i["source_key"]: i for i in cases(SOURCE)[0].run()["items"]}
    uk = items["1989/0050/UK"]
    assert (uk["country"], uk["distributed_on"], uk["comment_deadline"]) == ("GBR", "1989-03-10", "1989-09-22")
    assert uk["extra"]["comments"] == ["France", "Germany", "Italy"]
    assert items["2019/0080/EL"]["country"] == "GRC"
    assert items["2019/0080/EL"]["comment_deadline"] is None  # \N in the dataset


def test_bad_rows_are_quarantined_and_extra_columns_kept() -> None:
    body = (
        HEADER.replace('"commission_opinion"', '"commission_opinion","new_column"')
        + '1,"TRIS:2020:0001:FI:N",1,"Finland","FI",2020-01-02,2020,2020-04-03,2020,0,\\N,0,0,\\N,0,0,hello\n'
        + '2,"2020/0002/CZ",1,"Czechia","CZ",2020-01-06,2020,2020-04-07,2020,0,\\N,0,0,\\N,0,0,\n'
        + '3,"TRIS:2020:0003:DE:N",1,"Germany","DE",06.01.2020x,2020,\\N,\\N,0,\\N,0,0,\\N,0,0,\n'
        + '4,"TRIS:2020:0004:XX:N",1,"Nowhere","XX",2020-01-06,2020,\\N,\\N,7,\\N,0,0,\\N,0,0,\n'
    )
    result = parse(body.encode(), CSV_URL, load_source(SOURCE))
    [item] = result.items
    assert item.extra["unmapped"] == {"new_column": "hello"}
    assert [r.field for r in result.rejected] == ["notification_ID", "start_date", "notification_by_code"]


def test_page_labels_in_a_table_layout() -> None:
    page = (
        "<html><body><table><tr><th>Notification number:</th><td>2026/0266/ES</td></tr>"
        "<tr><th>Title</th><td>Draft Royal Decree on textile &amp; footwear waste</td></tr>"
        "<tr><th>Products</th><td>Textile products, footwear</td></tr>"
        "<tr><th>End of standstill</th><td>28/09/2026</td></tr></table></body></html>"
    )
    [item] = parse(page.encode(), PAGE_URL, load_source(SOURCE)).items
    assert (item.source_key, item.country, item.title) == (
        "2026/0266/ES",
        "ESP",
        "Draft Royal Decree on textile & footwear waste",
    )
    assert (item.products, str(item.comment_deadline)) == ("Textile products, footwear", "2026-09-28")
    assert item.url == PAGE_URL


@pytest.mark.parametrize(
    "body", [b"", b"\xff\xfe", b"just text", b"<html><body><p>Maintenance</p></body></html>", b'"a","b"\n1,2\n']
)
def test_changed_structure(body: bytes) -> None:
    with pytest.raises(StructureChanged, match=SOURCE):
        parse(body, CSV_URL, load_source(SOURCE))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=18), max_size=5))
def test_arbitrary_csv_rows(rows: list[list[str]]) -> None:
    lines = [",".join('"' + cell.replace('"', '""') + '"' for cell in row) for row in rows]
    only_documented_errors(SOURCE, (HEADER + "\n".join(lines)).encode(), CSV_URL)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_pages(text: str) -> None:
    only_documented_errors(SOURCE, ("<html><body>" + text).encode(), PAGE_URL)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=5_000))
def test_truncated_responses(cut: int) -> None:
    for case in cases(SOURCE):
        body = case.body()
        only_documented_errors(SOURCE, body[: cut % len(body)], case.url)
