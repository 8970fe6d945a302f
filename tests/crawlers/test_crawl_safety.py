"""What a crawl may fetch (review findings H1, M4): TLS certificates verified, no file/data/s3/ftp
handlers, follow-up links only over http(s) to the source's own hosts, never to private addresses."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

import pytest
from scrapy.http import Request, XmlResponse
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawlers.items import ParseResult
from crawlers.run import _child_env
from crawlers.sources import load_sources
from crawlers.sources.au_accc.spider import AuAcccSpider
from crawlers.sources.eu_safety_gate.spider import EuSafetyGateSpider
from tbt_alert.settings import load_settings


@pytest.fixture
def crawl_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The effective Scrapy settings of a crawl child (the module tbt-alert crawl names)."""
    module = _child_env(load_settings())["SCRAPY_SETTINGS_MODULE"]
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", module)
    return get_project_settings()


def test_crawls_verify_tls_certificates(crawl_settings: Settings) -> None:
    assert crawl_settings.getbool("DOWNLOAD_VERIFY_CERTIFICATES") is True


def test_the_file_data_s3_and_ftp_handlers_are_off(crawl_settings: Settings) -> None:
    handlers = crawl_settings.getwithbase("DOWNLOAD_HANDLERS")
    assert {scheme: handlers[scheme] for scheme in ("file", "data", "s3", "ftp")} == dict.fromkeys(
        ("file", "data", "s3", "ftp")
    )
    assert handlers["https"]


GOOD_REPORT = "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000283?language=en"
HOSTILE_FOLLOW_URLS = [
    "file:///etc/passwd",
    "data:text/html,x",
    "ftp://ec.europa.eu/report.xml",
    "s3://ec.europa.eu/report.xml",
    "JAVASCRIPT:alert(1)",
    "https://phish.example/recall",
    "https://ec.europa.eu.phish.example/recall",
    "https://ec.europa.eu@phish.example/recall",
    "http://127.0.0.1:9200/_cat/indices",
    "http://localhost:8080/api/v1/dags",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9200/",
    "http://10.0.0.7/",
    "//ec.europa.eu/no-scheme",
]


def _weekly_list(urls: list[str]) -> bytes:
    entries = "".join(
        f"<weeklyReport><URL>{escape(url)}</URL><publicationDate>01/01/2030</publicationDate></weeklyReport>"
        for url in urls
    )
    return f"<Safety-Gate>{entries}</Safety-Gate>".encode()


def test_a_weekly_list_sends_the_crawler_only_to_its_own_hosts_over_http() -> None:
    spider = EuSafetyGateSpider()
    assert spider.allowed_domains == ["ec.europa.eu"]
    response = XmlResponse(
        spider.config.base_urls["weekly_list"], body=_weekly_list([*HOSTILE_FOLLOW_URLS, GOOD_REPORT])
    )
    requests = list(spider.parse(response))
    assert [r.url for r in requests if isinstance(r, Request)] == [GOOD_REPORT]
    assert len(spider.errors) == len(HOSTILE_FOLLOW_URLS)
    for url, error in zip(HOSTILE_FOLLOW_URLS, spider.errors, strict=True):
        assert error.startswith(f"source eu_safety_gate: not following {url!r}"), error
    assert spider.fatal is None


def test_links_next_of_a_page_is_followed_only_on_the_source_host() -> None:
    spider = AuAcccSpider()
    own = "https://www.productsafety.gov.au/jsonapi/node/psa_recall?page%5Boffset%5D=50"
    elsewhere = "https://www.productsafety.gov.au.phish.example/jsonapi/node/psa_recall"
    out = list(spider.emit(ParseResult(follow=["http://169.254.169.254/latest/meta-data/", elsewhere, own])))
    assert [r.url for r in out if isinstance(r, Request)] == [own]
    assert spider.errors == [
        "source au_accc: not following 'http://169.254.169.254/latest/meta-data/': "
        "169.254.169.254 is a private, loopback or link-local address; the link was not fetched - check the "
        "source, and only if it really moved change base_urls in crawlers/sources/au_accc/au_accc.yml",
        f"source au_accc: not following {elsewhere!r}: its host www.productsafety.gov.au.phish.example is not "
        "one of the source's hosts (www.productsafety.gov.au); the link was not fetched - check the "
        "source, and only if it really moved change base_urls in crawlers/sources/au_accc/au_accc.yml",
    ]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/x", "http://169.254.169.254/", "http://[::1]/", "http://192.168.1.1/", "http://0.0.0.0/"]
)
def test_private_loopback_and_link_local_addresses_are_refused_even_when_listed(url: str) -> None:
    from crawlers.urls import follow_refusal

    host = urlsplit(url).hostname
    assert host is not None
    reason = follow_refusal(url, [host])
    assert reason is not None
    assert "private, loopback or link-local" in reason


def test_every_source_starts_on_its_own_hosts() -> None:
    from crawlers.urls import follow_refusal, source_hosts

    for config in load_sources().values():
        hosts = source_hosts(config)
        for url in config.base_urls.values():
            assert follow_refusal(url.format(id=1, language="en"), hosts) is None, (config.id, url)


def test_a_crawl_child_never_gets_the_smtp_login() -> None:
    settings = load_settings({"TBT_SMTP_USER": "alerts", "TBT_SMTP_PASSWORD": "mail-secret", "TBT_SMTP_HOST": "smtp.x"})
    env = _child_env(settings)
    assert "mail-secret" not in "\n".join(env.values())
    assert "TBT_SMTP_USER" not in env
    assert env["TBT_DATABASE_URL"] == settings.database_url
