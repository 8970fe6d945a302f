"""What a crawl may fetch (review findings H1, M4): TLS certificates verified, no file/data/s3/ftp
handlers, follow-up links only over http(s) to the source's own hosts, never to private addresses."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawlers.run import _child_env
from tbt_alert.settings import load_settings


@pytest.fixture
def crawl_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The effective Scrapy settings of a crawl child (the module tbt-alert crawl names)."""
    module = _child_env(load_settings())["SCRAPY_SETTINGS_MODULE"]
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", module)
    return get_project_settings()


def test_crawls_verify_tls_certificates(crawl_settings: Settings) -> None:
    assert crawl_settings.getbool("DOWNLOAD_VERIFY_CERTIFICATES") is True
