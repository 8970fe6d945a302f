"""TBT_PORTAL_TRUSTED_PROXIES is a declared setting (tbt_alert/settings.py), validated at start-up
like every other TBT_* variable and documented in the README's table."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tbt_alert.errors import SettingsError
from tbt_alert.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"TBT_DATA_DIR": str(tmp_path), "TBT_SECRET_KEY": "not-for-production-" + "k" * 20, **extra}


def test_the_trusted_proxies_default_to_loopback(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path))
    assert settings.portal_trusted_proxies == (ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("::1"))


def test_the_trusted_proxies_take_addresses_and_networks(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, TBT_PORTAL_TRUSTED_PROXIES=" 10.9.8.7, 10.0.0.0/24 ,fd00::/8"))
    assert [str(n) for n in settings.portal_trusted_proxies] == ["10.9.8.7/32", "10.0.0.0/24", "fd00::/8"]
    assert load_settings(_env(tmp_path, TBT_PORTAL_TRUSTED_PROXIES="")).portal_trusted_proxies == ()


def test_an_invalid_trusted_proxy_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TBT_PORTAL_TRUSTED_PROXIES names 'proxy.example.org'"):
        load_settings(_env(tmp_path, TBT_PORTAL_TRUSTED_PROXIES="10.0.0.1, proxy.example.org"))


def test_the_readme_documents_the_trusted_proxies() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "| `TBT_PORTAL_TRUSTED_PROXIES` |" in readme


def test_an_elasticsearch_api_key_travels_apart_from_the_url_and_never_shows(tmp_path: Path) -> None:
    """docs/SCALE_OUT.md: no password in TBT_ELASTICSEARCH_URL; the API key is its own setting."""
    from search.client import make_client

    key = "made-up-api-key-4711"
    settings = load_settings(
        _env(tmp_path, TBT_ELASTICSEARCH_URL="https://es.example.org:9200", TBT_ELASTICSEARCH_API_KEY=key)
    )
    assert settings.elasticsearch_api_key == key
    assert key not in repr(settings)
    client = make_client(settings)
    try:
        assert client._headers["authorization"] == f"ApiKey {key}"
    finally:
        client.close()
    plain = make_client(load_settings(_env(tmp_path)))
    try:
        assert "authorization" not in plain._headers
    finally:
        plain.close()


def test_scale_out_advice_puts_no_password_in_a_url() -> None:
    import re

    advice = (REPO / "docs" / "SCALE_OUT.md").read_text(encoding="utf-8")
    assert not re.search(r"://[^\s/`]*:[^\s/`@]*@", advice), "a URL with user:password in docs/SCALE_OUT.md"
    assert "PGPASSFILE" in advice
    assert "TBT_ELASTICSEARCH_API_KEY" in advice


def test_a_crawl_child_never_gets_the_elasticsearch_key(tmp_path: Path) -> None:
    """The crawl child parses untrusted input and never queries the cluster."""
    from crawlers.run import _child_env

    key = "made-up-api-key-0042"
    env = _child_env(load_settings(_env(tmp_path, TBT_ELASTICSEARCH_API_KEY=key)))
    assert key not in "\n".join(env.values())
