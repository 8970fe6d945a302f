"""What the tbt-alert DAGs share: default task arguments, the owner, the replay switch.

Imported by the DAG files at parse time, so it imports nothing heavy: the settings
and the stages are loaded inside the tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.log_redaction import redact_task_logs
from pipeline.operator_alerts import task_failed

OWNER = "tbt-alert"

# Every task: two retries five minutes apart (a source or relay that hiccups usually
# answers the next time), then the operator gets a mail.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
    # No task may hang forever and block the next runs (max_active_runs is 1).
    "execution_timeout": dt.timedelta(minutes=30),
    "on_failure_callback": task_failed,
    # Before the task runs: the credentials of the TBT_* settings are masked in its log.
    "on_execute_callback": redact_task_logs,
}


def replay_dir(params: Mapping[str, Any] | None, default: Path | None) -> Path | None:
    """The recorded snapshot to crawl from instead of the network, if any.

    A run's ``replay_dir`` param wins; else ``default`` (the ``TBT_REPLAY_DIR``
    setting, for demos and CI where no live site may be fetched); else None: crawl
    the live sources.
    """
    chosen = (params or {}).get("replay_dir")
    return Path(chosen).resolve() if chosen else default
