"""Credentials out of the logs of Airflow tasks (review H2).

Airflow masks the values it knows as secret (connection passwords, variables with secret names);
it does not know our ``TBT_*`` settings. Every task runs :func:`redact_task_logs` first (an
``on_execute_callback`` in dags/common.py): each credential value of the settings is registered
with Airflow's masker, and the task's stdlib log handlers get the URL-redacting filter too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from tbt_alert.redact import credentials_in, redact_log_handlers

# Where a task's own log lines go besides the root logger.
_TASK_LOGGERS = ("airflow.task", "airflow.sdk", "airflow")


def redact_task_logs(context: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """Mask the credentials of the ``TBT_*`` environment in this task's logs; how many values were masked."""
    env = os.environ if env is None else env
    redact_log_handlers()
    for name in _TASK_LOGGERS:
        redact_log_handlers(logging.getLogger(name))
    secrets = credentials_in({k: v for k, v in env.items() if k.startswith("TBT_")})
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # outside Airflow (the CLI): the handler filters are all there is
        return 0
    for secret in secrets:
        mask_secret(secret)
    return len(secrets)
