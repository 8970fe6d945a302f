"""Where a wto_eping crawl starts and how it asks: the keyless getAll API on the configured ePing
host, or WTO's keyed search API with the subscription key in a header.

Pure functions of the YAML and the settings, so the request a live crawl would send is testable
offline. ePing announced its move from epingalert.org to eping.wto.org (late 2026) and the keyless
API may be retired; both moves are configuration (``TBT_EPING_BASE_URL``, ``TBT_EPING_API``), not code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.sources import SourceConfig
from tbt_alert.errors import SourceConfigError

GETALL = "getall"
SEARCH = "search"
# api.wto.org is an Azure API Management gateway: the key goes in this header (the gateway also
# takes ?subscription-key=, which would put the key into every logged URL, so it is never used).
KEY_HEADER = "Ocp-Apim-Subscription-Key"
# What the keyed search API documents besides the paging: the rest of a getAll query (sortBy,
# sortDirection) is not among its parameters, so it is not sent.
_SEARCH_PARAMETERS = ("language", "domainIds", "countryIds", "freeText", "hs", "ics", "page", "pageSize")


@dataclass(frozen=True)
class Endpoint:
    """The first URLs of a run and the headers every request of the run carries."""

    api: str
    start_urls: tuple[str, ...]
    headers: dict[str, str]

    @property
    def hosts(self) -> list[str]:
        return sorted({urlsplit(u).hostname or "" for u in self.start_urls} - {""})

    def headers_for(self, url: str) -> dict[str, str]:
        """The headers of a request to ``url``: the key only ever goes to the endpoint's own hosts."""
        return dict(self.headers) if (urlsplit(url).hostname or "") in self.hosts else {}


def endpoint(
    config: SourceConfig,
    *,
    api: str = GETALL,
    base_url: str | None = None,
    api_key: str | None = None,
    since: dt.date | None = None,
) -> Endpoint:
    """The endpoint of a crawl of ``config`` (wto_eping's YAML) under the given settings."""
    if api == GETALL:
        host = _host(config, base_url)
        urls = tuple(_on_host(url, host) for url in config.base_urls.values())
        return Endpoint(GETALL, urls, {})
    if api != SEARCH:
        raise SourceConfigError(
            f"source {config.id}: unknown ePing API {api!r}; set TBT_EPING_API to getall or search."
        )
    if not api_key or not api_key.strip():
        raise SourceConfigError(
            f"source {config.id}: the search API needs a subscription key; set TBT_EPING_API_KEY "
            "(apiportal.wto.org) or TBT_EPING_API=getall."
        )
    search_url = config.options.get("search_url")
    if not isinstance(search_url, str) or not search_url.startswith("https://"):
        raise SourceConfigError(
            f"source {config.id}: options.search_url is missing or not https; set it in "
            f"crawlers/sources/{config.id}/{config.id}.yml."
        )
    urls = tuple(_search_url(search_url, url, since) for url in config.base_urls.values())
    return Endpoint(SEARCH, urls, {KEY_HEADER: api_key.strip()})


def _host(config: SourceConfig, base_url: str | None) -> str | None:
    """The configured ePing host, checked against the YAML's ``options.hosts``; None: keep base_urls."""
    if not base_url:
        return None
    wanted = base_url.rstrip("/")
    hosts = [str(h).rstrip("/") for h in config.options.get("hosts", [])]
    if wanted not in hosts:
        raise SourceConfigError(
            f"source {config.id}: TBT_EPING_BASE_URL={wanted!r} is not an ePing host listed in options.hosts of "
            f"crawlers/sources/{config.id}/{config.id}.yml ({', '.join(hosts) or 'none'}); set one of them "
            "or add the new host there."
        )
    return wanted


def _on_host(url: str, host: str | None) -> str:
    if host is None:
        return url
    target = urlsplit(host)
    return urlunsplit(urlsplit(url)._replace(scheme=target.scheme, netloc=target.netloc))


def _search_url(search_url: str, getall_url: str, since: dt.date | None) -> str:
    """The getAll start URL's query as a search API query, from ``since`` when the run has one.

    The search API promises no order, so the date filter is what keeps a daily run short: every
    item it returns is from ``since`` on, and the spider's stop-at-a-stale-page never fires.
    """
    query = [(k, v) for k, v in parse_qsl(urlsplit(getall_url).query) if k in _SEARCH_PARAMETERS]
    if since is not None:
        query.append(("distributionDateFrom", since.isoformat()))
    return urlunsplit(urlsplit(search_url)._replace(query=urlencode(query)))
