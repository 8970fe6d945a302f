"""What a reader is told when a search cannot be answered.

A message of ours about the request itself (a page beyond the result window) is shown as it is.
A failure of the service (the cluster down or refusing, the model missing) is shown as "try again
later": its text names hosts, ports and index names, which are for the operators, so it goes to
the log (security review H2).
"""

from __future__ import annotations

import logging

from tbt_alert.errors import SearchError, ServiceUnavailable

log = logging.getLogger(__name__)


def public_reason(exc: BaseException) -> str | None:
    """The part of ``exc`` a reader may see, or None (then logged for the operators)."""
    if isinstance(exc, SearchError) and not isinstance(exc, ServiceUnavailable) and exc.__cause__ is None:
        return str(exc)
    log.warning("search could not be answered: %s", exc)
    return None
