"""Credentials out of everything we show: URLs, error texts, environment listings and log lines.

A deployment may put a password in ``TBT_ELASTICSEARCH_URL`` or ``TBT_DATABASE_URL``
(docs/SCALE_OUT.md does), so every URL a message, a page or a log line shows goes through
:func:`redact_url` or :func:`redact_text` first. A leaf module: it imports nothing of ours.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

REDACTED = "***"

# Query parameters that carry a credential (libpq takes ``?password=``; some proxies ``?token=``;
# Azure API Management gateways such as api.wto.org ``?subscription-key=``).
_SECRET_PARAMETERS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_token", "subscription-key"}
)
# Environment variable names whose whole value is a credential.
_SECRET_NAME = re.compile(r"SECRET|PASSW|PWD|TOKEN|KEY|CREDENTIAL|AUTH", re.IGNORECASE)

# ``scheme://userinfo@``: the userinfo runs to the last "@" before the host (a password may hold
# an unescaped "@"), never across whitespace, a path, quotes or angle brackets.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#'\"<>]*@")
_SECRET_PARAMETER = re.compile(
    r"(?P<key>[?&](?:" + "|".join(sorted(_SECRET_PARAMETERS)) + r")=)[^&#\s'\"<>]*", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """``url`` with its userinfo (``user:password@``) and any credential query parameter as ``***``.

    Scheme, host, port and path stay as they are, so the message still says which service failed.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL we can take apart (a bad IPv6 literal): mask whatever looks like one
        return redact_text(url)
    redacted = url
    if "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        redacted = redacted.replace(f"//{parts.netloc}", f"//{REDACTED}@{host}", 1)
    return _SECRET_PARAMETER.sub(rf"\g<key>{REDACTED}", redacted)


def redact_text(text: str) -> str:
    """``text`` with the userinfo and credential parameters of every URL in it as ``***``.

    For messages we did not write, such as a client library's exception text, which may embed
    the node URL.
    """
    text = _USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    return _SECRET_PARAMETER.sub(rf"\g<key>{REDACTED}", text)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """Environment variables fit to print: credentials (``*_SECRET_KEY``, ``*_PASSWORD``, ...) as
    ``***``, every other value with the URLs in it redacted."""
    return {
        name: (REDACTED if value else value) if _SECRET_NAME.search(name) else redact_text(value)
        for name, value in env.items()
    }


class RedactingFilter(logging.Filter):
    """A handler filter that redacts the message and the traceback of every record it passes.

    String arguments are redacted one by one and the record keeps its format and arguments:
    uvicorn's access formatter unpacks ``record.args`` (client, method, path with its query, ...),
    so a record flattened to one string would break it. A message whose credentials only show once
    formatted (split between format and arguments) is flattened."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: redact_text(v) if isinstance(v, str) else v for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: the handler reports it
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # The formatter reuses exc_text when it is set, so the traceback is redacted once, here.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


def redact_log_handlers(logger: logging.Logger | None = None) -> None:
    """Add a :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def credentials_in(env: Mapping[str, str]) -> list[str]:
    """The credential values among ``TBT_*`` variables: whole values of secret names, and the
    password (and credential parameters) inside URLs. For log maskers that match values, such as
    Airflow's ``mask_secret``."""
    found: list[str] = []
    for name, value in env.items():
        if not value:
            continue
        if _SECRET_NAME.search(name):
            found.append(value)
            continue
        for url in re.findall(r"\b[A-Za-z][A-Za-z0-9+.\-]*://\S+", value):
            try:
                parts = urlsplit(url)
                password = parts.password
            except ValueError:
                continue
            if password:
                found += [password, unquote(password)]
            for match in _SECRET_PARAMETER.finditer(url):
                secret = url[match.end("key") : match.end()]
                if secret:
                    found.append(secret)
    return sorted(set(found), key=found.index)
