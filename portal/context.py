"""What one portal app holds: settings, the database engine, the search client, the signer.

Built by :func:`portal.app.create_app` and kept on ``app.state.portal``; never at module
level, so every app (and every test) has its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from portal.costly import CostlyWork
from portal.security import SessionSigner
from portal.throttle import LoginThrottle
from schema.engine import session_factory
from tbt_alert.settings import Network, Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def make_templates() -> Environment:
    # Autoescape on for every template: every value a page shows is escaped unless a
    # template marks it safe, and none marks user or source data safe.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    return env


def http_url(value: object) -> str:
    """A link from source data only if it is http(s); escaping alone lets ``javascript:`` through."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else "#"


@dataclass
class Portal:
    settings: Settings
    engine: Engine
    signer: SessionSigner
    throttle: LoginThrottle
    trusted_proxies: tuple[Network, ...]
    templates: Environment
    _es: Any = None
    _es_lock: threading.Lock = field(default_factory=threading.Lock)
    dummy_password_hash: str | None = None
    costly: CostlyWork = field(default_factory=CostlyWork)  # exports and report builds (review L3)

    def es(self) -> Any:
        """The Elasticsearch client, made on first use so pages without search start without it."""
        with self._es_lock:
            if self._es is None:
                from search.client import make_client

                self._es = make_client(self.settings)
            return self._es

    def close(self) -> None:
        # The app may be started again (tests, reloads): the next request makes a new client.
        with self._es_lock:
            if self._es is not None:
                self._es.close()
            self._es = None
        self.engine.dispose()


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def db_session(request: Request) -> Iterator[Session]:
    """A session per request; routes that write commit explicitly."""
    session = session_factory(portal_of(request).engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
