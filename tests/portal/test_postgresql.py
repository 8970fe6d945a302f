"""The portal's database queries on the real PostgreSQL too (the other tests use SQLite)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from portal.app import create_app
from tests.portal.conftest import PortalEnv, _add_people, log_in, portal_settings
from tests.portal.data import load_real_data


def test_pages_on_postgresql(postgres_url: str, index_prefix: str, es, shared_data: Path, tmp_path: Path) -> None:
    from search.lifecycle import rebuild_index

    settings = portal_settings(tmp_path / "data", index_prefix, postgres_url)
    load_real_data(settings, shared_data)
    rebuild_index(settings, client=es)
    env = PortalEnv(settings)
    _add_people(env)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        log_in(client, "admin1", env.passwords["admin1"])
        search = client.get("/search", params={"q": "toy", "kind": "recall"})
        measure = client.get(f"/measures/{env.tagged_id}")
        follow_up = client.get(f"/measures/{env.follow_up_id}")
        operations = client.get("/admin/operations")
        subscribers = client.get("/admin/subscribers")
        export = client.get("/search/export.csv", params={"kind": "tbt_notification"})
    assert search.status_code == 200
    assert "<mark>" in search.text
    assert measure.status_code == 200
    assert 'id="sector-tags"' in measure.text
    assert follow_up.status_code == 200
    assert operations.status_code == 200
    assert "wto_eping" in operations.text
    assert subscribers.status_code == 200
    assert export.text.count("\n") > 2
