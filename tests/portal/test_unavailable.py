"""A search the cluster cannot answer: readers get "try again later" in their language, never the
cluster's host, port or credentials (security review H2); the operators get the reason in the log."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal.app import create_app
from tests.portal.conftest import PortalEnv, log_in

DOWN = "http://elastic:hunter2-secret@127.0.0.1:1"


@pytest.fixture(scope="module")
def app_without_cluster(portal_env: PortalEnv) -> Any:
    return create_app(dataclasses.replace(portal_env.settings, elasticsearch_url=DOWN))


def test_the_search_page_says_try_later_without_naming_the_cluster(
    app_without_cluster: Any, portal_env: PortalEnv, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(app_without_cluster, follow_redirects=False) as client:
        log_in(client, "staff1", portal_env.passwords["staff1"])
        with caplog.at_level(logging.WARNING, logger="portal.unavailable"):
            response = client.get("/search", params={"q": "toys", "retrieval": "bm25"})
    assert response.status_code == 503
    assert "检索服务暂不可用" in response.text
    assert "请稍后再试" in response.text
    assert "127.0.0.1" not in response.text
    assert "hunter2" not in response.text
    assert "unreachable" in caplog.text  # the reason is in the log, redacted
    assert "hunter2" not in caplog.text


def test_the_api_answers_503_without_naming_the_cluster(app_without_cluster: Any, portal_env: PortalEnv) -> None:
    with TestClient(app_without_cluster, follow_redirects=False) as client:
        response = client.get("/api/search", params={"q": "toys"}, headers={"X-API-Key": portal_env.api_keys["staff"]})
    assert response.status_code == 503
    assert response.json()["detail"].startswith("Search is unavailable: try again later")
    assert "127.0.0.1" not in response.text


def test_the_measure_page_lists_related_measures_without_the_cluster(
    app_without_cluster: Any, portal_env: PortalEnv
) -> None:
    """Related measures by HS code and vector need the index; the rest come from the database."""
    with TestClient(app_without_cluster, follow_redirects=False) as client:
        log_in(client, "staff1", portal_env.passwords["staff1"])
        response = client.get(f"/measures/{portal_env.follow_up_id}")
    assert response.status_code == 200
    assert "同一通报系列" in response.text.split('id="related"')[1]
    assert "hunter2" not in response.text
