"""`portal.asgi:app` for ASGI servers with several workers (uvicorn --workers, gunicorn):
the app is built from the environment's settings when a worker imports this module."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Built on first access, not at import time of the package: `import portal` stays cheap.
    if name == "app":
        from portal.app import create_app
        from tbt_alert.settings import load_settings

        return create_app(load_settings())
    raise AttributeError(name)
