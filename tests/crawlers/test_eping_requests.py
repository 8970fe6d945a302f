"""What a wto_eping crawl would send, built offline: the configured ePing host, the keyed search API
with its key in a header only, the settings behind them, and a replay crawl through the spider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from crawlers.replay import REPLAY_DIR
from crawlers.run import crawl
from crawlers.sources import SourceConfig, load_source
from crawlers.sources.wto_eping.endpoints import KEY_HEADER, endpoint
from crawlers.sources.wto_eping.spider import WtoEpingSpider
from schema.engine import make_engine
from schema.models import Measure
from tbt_alert.errors import SettingsError, SourceConfigError
from tbt_alert.redact import redact_env, redact_text
from tbt_alert.settings import Settings, load_settings

KEY = "0123456789abcdef0123456789abcdef"  # made up: the shape of an api.wto.org subscription key
SEARCH = "https://api.wto.org/eping/notifications/search"
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 3, "RETRY_TIMES": 1}


@pytest.fixture(scope="module")
def config() -> SourceConfig:
    return load_source("wto_eping")


def test_by_default_the_keyless_getall_api_on_the_yaml_host(config: SourceConfig) -> None:
    chosen = endpoint(config)
    assert chosen.start_urls == tuple(config.base_urls.values())
    assert chosen.hosts == ["epingalert.org"]
    assert chosen.headers == {}


def test_the_new_host_is_configuration(config: SourceConfig) -> None:
    chosen = endpoint(config, base_url="https://eping.wto.org/")
    for old, new in zip(config.base_urls.values(), chosen.start_urls, strict=True):
        assert new == old.replace("https://epingalert.org/", "https://eping.wto.org/")
    assert chosen.hosts == ["eping.wto.org"]


def test_a_host_the_yaml_does_not_list_is_refused(config: SourceConfig) -> None:
    with pytest.raises(SourceConfigError, match=r"TBT_EPING_BASE_URL='https://evil.example'.*options.hosts"):
        endpoint(config, base_url="https://evil.example")


def test_the_keyed_search_api_gets_the_key_in_a_header_never_in_the_url(config: SourceConfig) -> None:
    chosen = endpoint(config, api="search", api_key=f" {KEY}\n", since=dt.date(2026, 12, 1))
    assert chosen.headers == {KEY_HEADER: KEY}
    queries = []
    for url in chosen.start_urls:
        assert url.startswith(SEARCH + "?")
        assert KEY not in url
        queries.append(parse_qs(urlsplit(url).query))
    assert [q["domainIds"] for q in queries] == [["1"], ["2"]]
    for query in queries:
        assert query["language"] == ["1"]
        assert query["page"] == ["1"]
        assert query["distributionDateFrom"] == ["2026-12-01"]
        assert "sortBy" not in query  # not a parameter of the search API


def test_the_search_api_without_a_key_is_refused(config: SourceConfig) -> None:
    with pytest.raises(SourceConfigError, match="TBT_EPING_API_KEY"):
        endpoint(config, api="search", api_key="  ")


def test_the_spider_sends_the_key_only_to_the_api_and_never_follows_a_redirect(config: SourceConfig) -> None:
    spider = WtoEpingSpider(eping=endpoint(config, api="search", api_key=KEY))
    assert list(spider.start_urls_for()) == list(spider.endpoint.start_urls)
    assert "api.wto.org" in spider.allowed_domains
    next_page = spider.request(f"{SEARCH}?language=1&domainIds=1&page=2&pageSize=10")
    assert next_page.headers.get(KEY_HEADER) == KEY.encode()
    assert next_page.meta["dont_redirect"] is True
    elsewhere = spider.request("https://epingalert.org/en/Search?viewData=1")
    assert KEY_HEADER not in elsewhere.headers
    assert "dont_redirect" not in elsewhere.meta


def test_the_spider_reads_its_endpoint_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(TBT_EPING_BASE_URL="https://eping.wto.org")
    for name, value in settings.extra.items():
        monkeypatch.setenv(name, value)
    spider = WtoEpingSpider(since="2026-12-01")
    assert spider.endpoint.hosts == ["eping.wto.org"]
    assert "eping.wto.org" in spider.allowed_domains
    assert all(KEY_HEADER not in spider.request(u).headers for u in spider.start_urls_for())


def test_settings_refuse_search_without_a_key_and_hide_the_key(tmp_path: Path) -> None:
    base = {"TBT_DATA_DIR": str(tmp_path), "TBT_SECRET_KEY": "s" * 40, "TBT_EPING_API": "search"}
    with pytest.raises(SettingsError, match="TBT_EPING_API_KEY"):
        load_settings(base)
    settings = load_settings({**base, "TBT_EPING_API_KEY": KEY})
    assert (settings.eping_api, settings.eping_api_key, settings.eping_base_url) == ("search", KEY, None)
    assert KEY not in repr(settings)
    assert KEY not in str(redact_env(settings.extra))
    with pytest.raises(SettingsError, match="TBT_EPING_API='soap' is unknown"):
        load_settings({**base, "TBT_EPING_API": "soap"})


def test_a_replay_crawl_runs_through_the_eping_spider(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    outcome = crawl(settings, "wto_eping", replay_dir=REPLAY_DIR, timeout=120, scrapy_settings=FAST)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(Measure).where(Measure.source_id == "wto_eping"))
    finally:
        engine.dispose()
    # Partial only for the fixture's quarantined records (no symbol, id or registry number): no page failed.
    assert (outcome.status, outcome.error) == ("partial", f"{outcome.rejected} record(s) quarantined")
    assert outcome.suspicious is False
    assert stored == outcome.new > 50


def test_a_key_pasted_into_a_url_is_redacted_from_messages() -> None:
    # The crawl never puts the key in a URL; an operator's pasted URL in a log line is still masked.
    message = f"failed: {SEARCH}?language=1&subscription-key={KEY}&page=2"
    assert KEY not in redact_text(message)
    assert "language=1" in redact_text(message)
