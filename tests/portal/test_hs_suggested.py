"""Suggested HS codes in the portal: the measure page's product line and suggestions (推测, apart
from the source's codes), the search page and export, and the JSON API — on the real records."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from classifiers.hs_catalogue import hs_name
from schema.engine import session_scope
from schema.models import Bulletin, BulletinItem, Measure, SuggestedHsCode
from tests.portal.conftest import PortalEnv

KETTLE = hs_name("851671")
# The reason a bulletin stored for a suggested match (as alerts.matching writes it).
SUGGESTED_REASON = {"type": "hs", "prefix": "8516", "code": "851671", "suggested": True, "score": 0.83}


@dataclasses.dataclass
class Suggested:
    recall_id: str  # a real Safety Gate recall (no source code) given CONSTRUCTED suggestions
    listed_id: str  # a real ePing notification listing HS 051199 itself
    unsure_id: str  # another real recall, given only a suggestion below the threshold


@pytest.fixture(scope="module")
def suggested(portal_env: PortalEnv, es: Any) -> Iterator[Suggested]:
    """Suggestions the test assigns (inputs, not classifier output), a bulletin that carried the recall by
    one, and the index rebuilt with them (threshold set: no trained HS index needed)."""
    from search.lifecycle import rebuild_index

    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            recall = session.get_one(Measure, portal_env.recall_id)
            assert not recall.hs_codes
            listed = session.scalars(select(Measure).where(Measure.source_key == "crn:25_03774")).one()
            assert listed.hs_codes == ["051199"]
            unsure = session.scalars(
                select(Measure).where(Measure.kind == "recall", Measure.id != recall.id).order_by(Measure.id)
            ).first()
            assert unsure is not None
            for measure_id, code, score in (
                (recall.id, "851671", 0.83),
                (recall.id, "732393", 0.41),
                (listed.id, "851671", 0.9),
                (unsure.id, "851671", 0.15),
            ):
                name = hs_name(code)
                assert name is not None
                rank = 1 if code == "851671" else 2
                session.add(
                    SuggestedHsCode(
                        measure_id=measure_id, rank=rank, code=code, score=score, name_zh=name.name_zh,
                        name_en=name.name_en, classifier_version="test",
                    )
                )  # fmt: skip
            now = dt.datetime(2026, 7, 20, tzinfo=dt.UTC)
            bulletin = Bulletin(
                subscriber_id=portal_env.subscriber_ids[0], period_start=now - dt.timedelta(days=1), period_end=now,
                frequency="daily", language="zh", subject="【TBT预警】测试简报", html="", text="",
            )  # fmt: skip
            session.add(bulletin)
            session.flush()
            session.add(BulletinItem(bulletin_id=bulletin.id, measure_id=recall.id, reasons=[SUGGESTED_REASON]))
            found = Suggested(recall.id, listed.id, unsure.id)
        rebuild_index(dataclasses.replace(portal_env.settings, hs_suggestion_min_score=0.5), client=es)
        yield found
    finally:
        engine.dispose()


def test_measure_page_shows_the_product_line_and_the_suggestions(
    client_as: Callable[[str | None], TestClient], suggested: Suggested
) -> None:
    assert KETTLE is not None
    client = client_as("staff")
    html = client.get(f"/measures/{suggested.recall_id}").text
    product = html.split('id="product-line">')[1].split("</p>")[0]
    assert product == f"中文品名（推测）：{KETTLE.name_zh} · HS 8516.71"
    table = html.split('id="hs-suggested"')[1].split("</table>")[0]
    assert "HS 8516.71（推测）" in table
    assert "HS 7323.93（推测）" in table
    assert "0.83" in table
    assert KETTLE.name_zh in table
    assert KETTLE.name_en not in html  # a Chinese page names the product in Chinese only
    assert "推测 HS 编码" in html
    # The bulletin that carried it reads its reason in words, not as a stored dict (reasons are
    # subscriber data: an admin sees them).
    admin_html = client_as("admin").get(f"/measures/{suggested.recall_id}").text
    bulletins = admin_html.split('id="bulletins"')[1].split("</table>")[0]
    assert "HS 8516.71 (推测)" in bulletins
    assert "'type'" not in bulletins
    assert "suggested" not in bulletins

    client.get("/lang/en", params={"next": "/search"})
    english = client.get(f"/measures/{suggested.recall_id}").text
    assert f"Product (suggested): {KETTLE.name_en} · HS 8516.71" in english
    admin = client_as("admin")
    admin.get("/lang/en", params={"next": "/search"})
    assert "HS 8516.71 (suggested)" in admin.get(f"/measures/{suggested.recall_id}").text  # the bulletin's reason


def test_a_source_code_gives_the_product_line_without_a_guess(
    client_as: Callable[[str | None], TestClient], suggested: Suggested
) -> None:
    name = hs_name("051199")
    assert name is not None
    html = client_as("staff").get(f"/measures/{suggested.listed_id}").text
    product = html.split('id="product-line">')[1].split("</p>")[0]
    assert product == f"中文品名：{name.name_zh} · HS 0511.99"  # from the source's code: no 推测
    assert "HS 8516.71（推测）" in html.split('id="hs-suggested"')[1]  # listed, but apart and marked


def test_a_suggestion_below_the_threshold_names_no_product(
    client_as: Callable[[str | None], TestClient], suggested: Suggested
) -> None:
    html = client_as("staff").get(f"/measures/{suggested.unsure_id}").text
    assert 'id="product-line"' not in html  # 0.15 < the calibrated threshold: too unsure to name the product
    assert "0.15" in html.split('id="hs-suggested"')[1].split("</table>")[0]  # still listed, with its score


def test_search_page_and_export_mark_suggested_codes(
    client_as: Callable[[str | None], TestClient], suggested: Suggested
) -> None:
    assert KETTLE is not None
    client = client_as("staff")
    html = client.get("/search", params={"hs_prefix": "8516"}).text
    assert int(html.split('id="total">')[1].split("<")[0]) == 1  # the notification lists 051199: not it
    assert f"/measures/{suggested.recall_id}" in html
    assert "按推测 HS 编码匹配" in html
    assert f"中文品名（推测）：{KETTLE.name_zh} · HS 8516.71" in html
    declared = client.get("/search", params={"hs_prefix": "8516", "hs_source": "declared"}).text
    assert int(declared.split('id="total">')[1].split("<")[0]) == 0
    export = client.get("/search/export.csv", params={"hs_prefix": "8516"})
    [row] = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert row["hs_codes"] == ""
    assert row["hs_suggested"] == "851671 (0.83); 732393 (0.41)"


def test_api_returns_suggestions_marked_as_suggested(
    portal_app: Any, portal_env: PortalEnv, suggested: Suggested
) -> None:
    headers = {"X-API-Key": portal_env.api_keys["staff"]}
    with TestClient(portal_app) as client:
        measure = client.get(f"/api/measures/{suggested.listed_id}", headers=headers).json()
        found = client.get("/api/search", params={"hs_prefix": "8516"}, headers=headers).json()
        declared = client.get(
            "/api/search", params={"hs_prefix": "8516", "hs_source": "declared"}, headers=headers
        ).json()
        bad = client.get("/api/search", params={"hs_source": "guessed"}, headers=headers)
        docs = client.get("/api/docs").text
    assert measure["hs_codes"] == ["051199"]  # the source's codes, unchanged
    assert [(s["code"], s["suggested"]) for s in measure["hs_suggested"]] == [("851671", True)]
    assert [h["id"] for h in found["hits"]] == [suggested.recall_id]
    [hit] = found["hits"]
    assert hit["hs_match"] == "suggested"
    assert hit["fields"]["hs_codes"] == []
    assert [(s["code"], s["suggested"]) for s in hit["fields"]["hs_suggested"]] == [("851671", True), ("732393", True)]
    assert hit["fields"]["hs_suggested_codes"] == ["851671"]  # only the one above the threshold is filterable
    assert declared["total"] == 0
    assert bad.status_code == 422
    assert "hs_source" in docs
