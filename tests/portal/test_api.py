"""The JSON API: search with filters and facets by API key, and a bounded schemathesis run over
the OpenAPI document that must find no server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.portal.conftest import PortalEnv


def test_api_search_filters_and_facets(portal_app: Any, portal_env: PortalEnv) -> None:
    headers = {"X-API-Key": portal_env.api_keys["staff"]}
    with TestClient(portal_app) as client:
        everything = client.get("/api/search", headers=headers).json()
        recalls = client.get("/api/search", params={"kind": "recall", "size": 5}, headers=headers).json()
        bad = client.get("/api/search", params={"country": "Atlantis"}, headers=headers)
        measure = client.get(f"/api/measures/{portal_env.follow_up_id}", headers=headers).json()
        missing = client.get("/api/measures/nope", headers=headers)
    assert 0 < recalls["total"] < everything["total"]
    assert len(recalls["hits"]) == 5
    assert {h["fields"]["kind"] for h in recalls["hits"]} == {"recall"}
    assert set(everything["facets"]) >= {
        "countries",
        "sectors",
        "kinds",
        "years",
        "languages",
        "bri",
        "open_for_comment",
    }
    assert bad.status_code == 422
    assert measure["id"] == portal_env.follow_up_id
    assert len(measure["timeline"]) >= 2
    assert missing.status_code == 404


def test_openapi_declares_the_api_key(portal_app: Any) -> None:
    spec = TestClient(portal_app).get("/api/openapi.json").json()
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]
    assert all(path.startswith("/api/") for path in spec["paths"])


def test_api_has_no_server_errors(portal_app: Any, portal_env: PortalEnv) -> None:
    """Every operation of the OpenAPI document, 25 generated requests each (bounded), with an admin key."""
    from hypothesis import given

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", portal_app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 4
    headers = {"X-API-Key": portal_env.api_keys["admin"]}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()


def test_api_search_reports_its_reading(portal_app: Any, portal_env: PortalEnv) -> None:
    headers = {"X-API-Key": portal_env.api_keys["staff"]}
    with TestClient(portal_app) as client:
        understood = client.get("/api/search", params={"q": "玩具"}, headers=headers).json()
        literal = client.get("/api/search", params={"q": "玩具", "understand": "false"}, headers=headers).json()
        dropped = client.get("/api/search", params={"q": "玩具", "ignore": "sector:toys"}, headers=headers).json()
    assert [i["code"] for i in understood["interpretation"]["items"]] == ["toys"]
    assert literal["interpretation"] is None
    assert dropped["interpretation"]["items"] == []
    assert dropped["interpretation"]["free_text"] == "玩具"


def test_api_search_says_where_its_time_went(portal_app: Any, portal_env: PortalEnv) -> None:
    headers = {"X-API-Key": portal_env.api_keys["staff"]}
    with TestClient(portal_app) as client:
        answer = client.get("/api/search", params={"q": "toys", "size": 3}, headers=headers)
        page = client.get("/login")
    layers = dict(entry.split(";dur=") for entry in answer.headers["server-timing"].split(", "))
    assert {"access", "elasticsearch", "serialise", "app"} <= set(layers)
    assert float(layers["app"]) >= float(layers["elasticsearch"]) > 0
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["total"] > 0
    assert len(body["hits"]) == 3
    assert all(isinstance(hit["fields"].get("published", ""), str) for hit in body["hits"])
    assert "render" in page.headers["server-timing"]
