"""Staff and analyst pages against the real index and database: search with facets, the measure
page, exports, reports, operations."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.portal.conftest import PortalEnv, csrf_of


def test_search_shows_hits_facets_and_highlights(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    response = client.get("/search", params={"q": "toy"})
    assert response.status_code == 200
    html = response.text
    assert 'id="total"' in html
    assert "<mark>" in html
    for facet in ("countries", "bri", "sectors", "kinds", "years", "open_for_comment", "languages"):
        assert f'id="facet-{facet}"' in html


def test_facet_filter_narrows_the_results(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    everything = client.get("/search").text
    recalls = client.get("/search", params={"kind": "recall"}).text
    total = int(everything.split('id="total">')[1].split("<")[0])
    recall_total = int(recalls.split('id="total">')[1].split("<")[0])
    assert 0 < recall_total < total
    assert "召回" in recalls


def test_pagination_and_sort(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    first = client.get("/search", params={"sort": "date"}).text
    second = client.get("/search", params={"sort": "date", "page": "2"}).text
    assert 'rel="next"' in first
    assert 'rel="prev"' in second
    links = lambda html: {p.split('"')[0] for p in html.split('href="/measures/')[1:]}  # noqa: E731
    assert links(first).isdisjoint(links(second))


def test_english_switch(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    response = client.get("/lang/en", params={"next": "/search"})
    assert response.status_code == 303
    assert response.headers["location"] == "/search"
    assert "Search" in client.get("/search").text
    assert "Belt and Road" in client.get("/search").text


def test_export_csv_and_xlsx_hold_the_results(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    page = client.get("/search", params={"kind": "recall"}).text
    total = int(page.split('id="total">')[1].split("<")[0])
    response = client.get("/search/export.csv", params={"kind": "recall"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert len(rows) == total
    assert {r["kind"] for r in rows} == {"recall"}
    xlsx = client.get("/search/export.xlsx", params={"kind": "recall"})
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    assert sum(1 for _ in sheet.iter_rows()) == total + 1


def test_measure_page_has_fields_tags_timeline(
    client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    client = client_as("staff")
    follow_up = client.get(f"/measures/{portal_env.follow_up_id}")
    assert follow_up.status_code == 200
    timeline = follow_up.text.split('id="timeline"')[1].split("</ol>")[0]
    assert "原通报" in timeline
    assert timeline.count("<li") >= 2
    tagged = client.get(f"/measures/{portal_env.tagged_id}").text
    assert 'id="sector-tags"' in tagged
    reasons = tagged.split('id="sector-reasons"')[1].split("</ul>")[0]
    assert "属于该行业" in reasons or "文中" in reasons or "内容与" in reasons  # a sentence, not a dump
    for raw in ("hs_codes", "nearest_examples", "{&#39;", "[{", "'type'"):
        assert raw not in tagged, raw  # raw evidence and stored dicts are for admins only
    admin = client_as("admin").get(f"/measures/{portal_env.tagged_id}").text
    assert "nearest_examples" in admin.split('id="raw-json"')[1] or "hs_codes" in admin.split('id="raw-json"')[1]
    recall = client.get(f"/measures/{portal_env.recall_id}").text
    assert "风险等级" in recall
    assert "此措施尚未出现在任何简报中" in recall
    assert client.get("/measures/does-not-exist").status_code == 404


def test_operations_page_shows_crawls_quarantine_and_consistency(client_as: Callable[[str | None], TestClient]) -> None:
    html = client_as("admin").get("/admin/operations").text
    assert "wto_eping" in html
    assert "eu_safety_gate" in html
    quarantine = html.split('id="quarantine"')[1].split("</table>")[0]
    assert quarantine.count("<tr>") >= 2  # header + at least one quarantined ePing record
    assert 'id="consistency"' in html
    assert "in_sync" in html


def test_admin_adds_a_user(client_as: Callable[[str | None], TestClient]) -> None:
    admin = client_as("admin")
    token = csrf_of(admin.get("/admin/users").text)
    short = admin.post(
        "/admin/users", data={"csrf_token": token, "username": "x1", "password": "short", "role": "staff"}
    )
    assert short.status_code == 422
    made = admin.post(
        "/admin/users",
        data={"csrf_token": token, "username": "analyst-new", "password": "a-long-enough-password", "role": "analyst"},
    )
    assert made.status_code == 303
    assert "analyst-new" in admin.get("/admin/users").text
    assert "exporter-a@example.org" in admin.get("/admin/subscribers").text


def test_analyst_generates_and_opens_a_report(client_as: Callable[[str | None], TestClient]) -> None:
    analyst = client_as("analyst")
    token = csrf_of(analyst.get("/reports").text)
    bad = analyst.post("/reports", data={"csrf_token": token, "period": "not-a-period"})
    assert bad.status_code == 422
    assert "not-a-period" in bad.text
    made = analyst.post("/reports", data={"csrf_token": token, "period": "2025-12", "market": "EU"})
    assert made.status_code == 303, made.text[:500]
    report = analyst.get(made.headers["location"])
    assert report.status_code == 200
    assert 'id="report-summary"' in report.text
    html = analyst.get(made.headers["location"] + "/file/html")
    assert html.status_code == 200
    assert "script-src" not in html.headers["content-security-policy"]
    assert "2025-12" in analyst.get("/reports").text


def test_search_shows_its_reading_of_the_query_with_undo_links(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    html = client.get("/search", params={"q": "德国 玩具"}).text
    assert 'id="interpretation"' in html
    assert "已识别" in html
    assert "国家 德国" in html
    assert "行业 玩具" in html
    undo_country = "/search?q=%E5%BE%B7%E5%9B%BD+%E7%8E%A9%E5%85%B7&amp;ignore=country%3ADEU"
    undo_all = "/search?q=%E5%BE%B7%E5%9B%BD+%E7%8E%A9%E5%85%B7&amp;understand=0"
    assert undo_country in html
    assert undo_all in html
    without_country = client.get(undo_country.replace("&amp;", "&")).text
    assert "行业 玩具" in without_country
    assert "<s>国家 德国</s>" in without_country  # shown as dropped, with the link that restores it
    assert 'class="restore" href="/search?q=%E5%BE%B7%E5%9B%BD+%E7%8E%A9%E5%85%B7"' in without_country
    literal = client.get(undo_all.replace("&amp;", "&")).text
    assert "已按原文检索" in literal
    assert "已识别" not in literal
    assert "/search?q=%E5%BE%B7%E5%9B%BD+%E7%8E%A9%E5%85%B7" in literal  # the way back to the understood search
