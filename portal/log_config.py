"""The portal's logging under uvicorn: uvicorn's own configuration with a redacting filter on every
handler, so neither an error line nor an access line shows a credential (review H2).

Uvicorn installs its handlers on the ``uvicorn``, ``uvicorn.error`` and ``uvicorn.access`` loggers,
which do not reach the root logger's filtered handlers. The access line carries the request's query
string, and the subscriber links carry their token there (``?token=``): it is logged as ``***``.
"""

from __future__ import annotations

import copy
from typing import Any

FILTER = {"()": "tbt_alert.redact.RedactingFilter"}


def uvicorn_log_config() -> dict[str, Any]:
    """A ``log_config`` for ``uvicorn.run``: uvicorn's default with the filter on each handler."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = dict(FILTER)
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact"]
    return config
