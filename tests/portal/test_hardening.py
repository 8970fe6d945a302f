"""Hardening: downloads are never cached, https deployments get HSTS, __Host- cookies and SHA-256
session signatures, an extreme report period is explained (not a 500), and an export of source
text with control characters still opens in a spreadsheet."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from portal.app import create_app
from schema.engine import make_engine, session_scope
from schema.models import Report
from tbt_alert.settings import Settings, load_settings
from tests.conftest import TEST_SECRET
from tests.portal.conftest import PortalEnv, csrf_of, log_in, portal_settings

# ---------------------------------------------------------------- L7: no caching of downloads


@pytest.fixture
def report_csv(portal_env: PortalEnv) -> Iterator[int]:
    """A report row whose CSV file lies in the reports folder (CONSTRUCTED content, not a built report)."""
    folder = portal_env.settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cache-test-{uuid.uuid4().hex[:8]}.csv"
    path.write_text("sector,score\ntoys,0.5\n", encoding="utf-8")
    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            report = Report(kind="recall_risk", period="2025-12", files={"csv": str(path)})
            session.add(report)
            session.flush()
            report_id = report.id
        yield report_id
    finally:
        engine.dispose()
        path.unlink(missing_ok=True)


def test_report_downloads_are_not_cached(report_csv: int, client_as: Callable[[str | None], TestClient]) -> None:
    response = client_as("analyst").get(f"/reports/{report_csv}/file/csv")
    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_are_not_cached(fmt: str, client_as: Callable[[str | None], TestClient]) -> None:
    response = client_as("staff").get(f"/search/export.{fmt}", params={"kind": "recall"})
    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]


# ---------------------------------------------------------------- L9: https deployments


def _https_settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "TBT_DATA_DIR": str(tmp_path),
            "TBT_SECRET_KEY": TEST_SECRET,
            "TBT_PORTAL_BASE_URL": "https://tbt.example.org",
        }
    )


def test_https_deployment_sends_hsts_and_host_only_cookies(tmp_path: Path) -> None:
    from schema.migrate import upgrade

    settings = _https_settings(tmp_path)
    upgrade(settings.database_url)
    with TestClient(create_app(settings), base_url="https://testserver", follow_redirects=False) as client:
        response = client.get("/login")
        cookie = response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=")
    name = cookie.split("=", 1)[0]
    assert name.startswith("__Host-")
    lowered = cookie.lower()
    assert "secure" in lowered
    assert "path=/" in lowered
    assert "domain=" not in lowered


def test_plain_http_development_has_no_hsts(client_as: Callable[[str | None], TestClient]) -> None:
    response = client_as(None).get("/login")
    assert "strict-transport-security" not in response.headers
    assert response.headers["set-cookie"].startswith("tbt_session=")


def test_session_cookies_are_signed_with_sha256(client_as: Callable[[str | None], TestClient]) -> None:
    cookie = client_as(None).get("/login").headers["set-cookie"].split(";")[0].split("=", 1)[1]
    signature = cookie.rsplit(".", 1)[1]
    assert len(signature) == 43  # 32 bytes of HMAC-SHA256 in unpadded base64 (SHA-1 gives 27)


def test_a_login_over_https_works(tmp_path: Path) -> None:
    from portal.users import create_user
    from schema.migrate import upgrade

    settings = _https_settings(tmp_path)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        create_user(session, "staff7", "staff", "staff7-password-x")
    engine.dispose()
    with TestClient(create_app(settings), base_url="https://testserver", follow_redirects=False) as client:
        log_in(client, "staff7", "staff7-password-x")
        assert client.get("/search", params={"kind": "nothing"}).status_code != 303


# ---------------------------------------------------------------- L2: extreme report periods


@pytest.mark.parametrize("period", ["0001-W01", "9999-W52", "0001", "9999-12", "0001..9999"])
def test_an_extreme_report_period_is_explained(period: str, portal_app: Any, portal_env: PortalEnv) -> None:
    with TestClient(portal_app, raise_server_exceptions=False, follow_redirects=False) as analyst:
        log_in(analyst, "analyst1", portal_env.passwords["analyst1"])
        token = csrf_of(analyst.get("/reports").text)
        response = analyst.post("/reports", data={"csrf_token": token, "period": period})
    assert response.status_code == 422
    assert period in response.text
    # It says which years a report can cover.
    assert "1990" in response.text
    assert "2100" in response.text


# ---------------------------------------------------------------- L1: control characters in an export


@pytest.fixture
def control_env(tmp_path: Path, es: Any, index_prefix: str) -> Settings:
    """A CONSTRUCTED recall (not real data) whose title and description carry C0 control characters."""
    from crawlers.sources import load_source, sync_sources
    from portal.users import create_user
    from schema.upsert import store_measures
    from search.lifecycle import rebuild_index

    settings = portal_settings(tmp_path / "data", index_prefix)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        sync_sources(session, [load_source("eu_safety_gate")])
        store_measures(
            session,
            [
                {
                    "source_id": "eu_safety_gate",
                    "source_key": "CONSTRUCTED-CONTROL-1",
                    "kind": "recall",
                    "title": "Toy\x0bslime\x00 kit\x1f",
                    "description": "=HYPERLINK(\x08)",
                    "url": "https://example.org/\x0crecall",
                    "raw_payload": "constructed for the export test",
                }
            ],
        )
        create_user(session, "staff8", "staff", "staff8-password-x")
    engine.dispose()
    rebuild_index(settings, client=es)
    return settings


def test_an_export_with_control_characters_opens(control_env: Settings) -> None:
    with TestClient(create_app(control_env), raise_server_exceptions=False, follow_redirects=False) as client:
        log_in(client, "staff8", "staff8-password-x")
        xlsx = client.get("/search/export.xlsx", params={"q": "slime"})
        text = client.get("/search/export.csv", params={"q": "slime"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 2
    title = rows[1][header.index("title")]
    assert title == "Toyslime kit"
    assert text.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(text.text.lstrip("\ufeff"))))
    assert row["title"] == "Toyslime kit"
