"""The standard page and its API on a real database: measures by market, kind and date; editions;
national adoptions; the Chinese counterpart said honestly to be unknown. Chinese first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal.app import create_app
from portal.users import create_user, issue_api_key
from schema.engine import session_scope
from search.lifecycle import rebuild_index
from tests.portal.conftest import log_in
from tests.standards.conftest import StandardsEnv


@pytest.fixture
def clients(standards_env: StandardsEnv) -> Iterator[tuple[TestClient, str]]:
    with session_scope(standards_env.engine) as session:
        create_user(session, "staff1", "staff", "staff-password-for-tests")
        key = issue_api_key(session, "staff1")
    with TestClient(create_app(standards_env.settings), follow_redirects=False) as client:
        log_in(client, "staff1", "staff-password-for-tests")
        yield client, key


def test_the_page_lists_every_measure_citing_any_part_in_chinese(clients: tuple[TestClient, str]) -> None:
    client, _ = clients
    html = client.get("/standards/IEC 60335").text
    assert "<h1>IEC 60335</h1>" in html
    assert "共有 2 项措施引用此标准" in html
    assert "EN 60335-1、EN 60335-2-30" in html  # how the German recall cites it
    assert "德国" in html
    assert "英国" in html
    assert "召回" in html
    assert "暂无对应国家标准数据" in html
    assert "recall" not in html.split('id="standard-measures"')[1].split("</table>")[0]  # no raw kind code


def test_national_adoptions_and_editions(clients: tuple[TestClient, str]) -> None:
    client, _ = clients
    html = client.get("/standards/BS 1363").text
    assert "共有 1 项措施引用此标准" in html
    html = client.get("/standards/EN 71").text
    assert "EN 71-1" in html
    assert "EN 71-3" in html
    assert "引用中未见以本国标准编号采用的情况" in html


def test_the_measure_page_links_each_cited_standard_to_its_page(
    clients: tuple[TestClient, str], standards_env: StandardsEnv
) -> None:
    client, _ = clients
    html = client.get(f"/measures/{standards_env.ids[144]}").text  # the British recall: EN 60335, BS 1363
    cited = html.split('id="cited-standards"')[1].split("</ul>")[0]
    assert 'href="/standards/EN%2060335"' in cited
    assert 'href="/standards/BS%201363"' in cited
    assert "引用标准" in html
    uncited = client.get(f"/measures/{standards_env.ids[212]}").text  # a model name, no standard
    assert 'id="cited-standards"' not in uncited
    assert "文本中未见引用的标准。" in uncited


def test_english_page_and_unknown_designation(clients: tuple[TestClient, str]) -> None:
    client, _ = clients
    html = client.get("/standards/ГОСТ Р 51558?lang=en").text
    assert "<h1>GOST R 51558</h1>" in html
    assert "1 measures cite this standard" in html
    assert "GOST R 51558:2014" in html
    assert client.get("/standards/heaters").status_code == 404


def test_an_unreadable_designation_is_explained_in_chinese(clients: tuple[TestClient, str]) -> None:
    client, key = clients
    answer = client.get("/standards/heaters")
    assert answer.status_code == 404
    assert "“heaters”不是标准编号；请按 IEC 60335" in answer.text
    api = client.get("/api/standards/heaters", headers={"X-API-Key": key})
    assert api.status_code == 404
    assert "is not a standard designation" in api.json()["detail"]


def test_api_gives_the_same_in_json(clients: tuple[TestClient, str]) -> None:
    client, key = clients
    response = client.get("/api/standards/EN 60335-2-30:2019", headers={"X-API-Key": key})
    assert response.status_code == 200
    data = response.json()
    assert data["key"] == "EN 60335"
    assert data["keys"] == ["EN 60335", "IEC 60335"]
    assert data["total"] == 2
    assert data["by_market"] == {"DEU": 1, "GBR": 1}
    assert data["by_kind"] == {"recall": 2}
    assert data["editions"] == {"EN 60335": 1, "EN 60335-1": 1, "EN 60335-2-30": 1}
    assert data["chinese_counterpart"] is None
    assert [m["cited_as"] for m in data["measures"]] == [["EN 60335-1", "EN 60335-2-30"], ["EN 60335"]]
    with TestClient(client.app, follow_redirects=False) as anonymous:
        assert anonymous.get("/api/standards/EN 71", headers={"X-API-Key": "tbt_not-a-key"}).status_code == 401


def test_search_page_filters_by_standard_and_offers_the_facet(
    es: Any, standards_env: StandardsEnv, clients: tuple[TestClient, str]
) -> None:
    rebuild_index(standards_env.settings, client=es)
    client, _ = clients
    html = client.get("/search", params={"standard": "IEC 60335", "retrieval": "bm25"}).text
    assert '<strong id="total">2</strong>' in html
    facet = html.split('id="facet-standards"')[1].split("</section>")[0]
    assert "引用标准" in facet
    assert "EN 60335" in facet
    assert client.get("/search", params={"standard": "heaters"}).status_code == 422
