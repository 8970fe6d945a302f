"""Which URLs a crawl may fetch and an item may carry: http(s) only, follow-ups on the source's own hosts.

A crawled document can name any URL. Following it blindly lets a tampered source steer the
crawler at internal services (Elasticsearch, Airflow, cloud metadata) or local files, and
putting it in a mail lets it carry ``javascript:`` or ``data:`` links to subscribers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from crawlers.sources import SourceConfig

WEB_SCHEMES = ("http", "https")


def web_url_problem(url: str) -> str | None:
    """Why ``url`` is not an absolute http(s) URL with a host, or None when it is one."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        return f"it is not a valid URL ({exc})"
    if parts.scheme.lower() not in WEB_SCHEMES:
        scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
        return f"only http and https links are allowed, it has {scheme}"
    if not host:
        return "it names no host"
    return None


def link_problem(url: str) -> str | None:
    """Why ``url`` may not be put in a mail or page as a link, or None when it may."""
    problem = web_url_problem(url)
    if problem is None:
        return None
    shown = url if len(url) <= 120 else url[:120] + "..."
    return f"{shown!r} is not a link a mail or page may carry: {problem}"


def source_hosts(config: SourceConfig) -> list[str]:
    """The hosts of the source's ``base_urls``: the only hosts its crawl may go to."""
    hosts = (urlsplit(url).hostname for url in config.base_urls.values())
    return sorted({h for h in hosts if h})


def follow_refusal(url: str, allowed_hosts: Iterable[str]) -> str | None:
    """Why a crawl must not fetch ``url`` a document named, or None when it may."""
    problem = web_url_problem(url)
    if problem:
        return problem
    host = urlsplit(url.strip()).hostname or ""
    if _is_internal_address(host):
        return f"{host} is a private, loopback or link-local address"
    allowed = sorted(allowed_hosts)
    if not any(host == a or host.endswith(f".{a}") for a in allowed):
        return f"its host {host} is not one of the source's hosts ({', '.join(allowed)})"
    return None


def _is_internal_address(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name; the source's host list decides
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast
