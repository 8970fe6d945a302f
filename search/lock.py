"""A lock document so that two processes never write the same index family at once.

The lock lives in ``{prefix}-locks`` and is created with ``op_type=create``: of two
concurrent creators exactly one wins. A holder that died leaves the lock behind until it
expires; the next taker then replaces it conditionally (``if_seq_no``), so two takers of the
same stale lock still cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from search.client import guarded
from search.mappings import lock_mappings
from search.names import locks_index
from tbt_alert.errors import IndexBusy, SearchError
from tbt_alert.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

LOCK_ID = "index-writer"
# Longer than a full rebuild of a few hundred thousand measures; a dead holder blocks no longer.
DEFAULT_TTL = dt.timedelta(hours=2)


def _ensure_locks_index(client: Elasticsearch, settings: Settings) -> None:
    from elasticsearch import BadRequestError

    name = locks_index(settings)
    with guarded(settings, f"create the lock index {name}"):
        if client.indices.exists(index=name):
            return
        try:
            client.indices.create(
                index=name, mappings=lock_mappings(), settings={"number_of_shards": 1, "auto_expand_replicas": "0-1"}
            )
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":  # a concurrent creator won; fine
                raise


@contextmanager
def index_lock(
    client: Elasticsearch, settings: Settings, purpose: str, *, ttl: dt.timedelta = DEFAULT_TTL
) -> Iterator[str]:
    """Hold the index lock for the ``with`` block; raise IndexBusy when another process has it."""
    from elasticsearch import ConflictError

    _ensure_locks_index(client, settings)
    name = locks_index(settings)
    owner = f"{socket.gethostname()}:{os.getpid()}:{purpose}:{dt.datetime.now(dt.UTC).timestamp()}"
    now = dt.datetime.now(dt.UTC)
    body = {"owner": owner, "purpose": purpose, "acquired_at": now.isoformat(), "expires_at": (now + ttl).isoformat()}
    with guarded(settings, "take the index lock"):
        try:
            client.index(index=name, id=LOCK_ID, document=body, op_type="create", refresh=True)
        except ConflictError:
            held = client.get(index=name, id=LOCK_ID)
            expires = dt.datetime.fromisoformat(held["_source"]["expires_at"])
            if expires > now and not _holder_died(held["_source"]["owner"]):
                raise IndexBusy(
                    f"the index is locked by {held['_source']['owner']} since {held['_source']['acquired_at']} "
                    f"(expires {held['_source']['expires_at']}); wait for it to finish, the next run catches up"
                ) from None
            try:  # stale: replace it, but only if nobody replaced it before us
                client.index(
                    index=name, id=LOCK_ID, document=body, refresh=True,
                    if_seq_no=held["_seq_no"], if_primary_term=held["_primary_term"],
                )  # fmt: skip
            except ConflictError:
                raise IndexBusy("another process took over the expired index lock first; try again later") from None
    try:
        yield owner
    finally:
        try:
            _release(client, settings, owner)
        except SearchError as exc:
            # Never hide the error that got us here; an unreleased lock expires after its TTL.
            log.warning("could not release the index lock (%s); it expires at %s", exc, body["expires_at"])


def _holder_died(owner: str) -> bool:
    """True when the holder was a process on this machine that no longer exists.

    A holder whose release failed (Elasticsearch died mid-rebuild, the task was killed)
    would otherwise block every run until the TTL ends. Only a holder on this host can be
    checked; one on another machine still waits for its expiry.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def _release(client: Elasticsearch, settings: Settings, owner: str) -> None:
    from elasticsearch import ConflictError, NotFoundError

    name = locks_index(settings)
    with guarded(settings, "release the index lock"):
        try:
            held = client.get(index=name, id=LOCK_ID)
        except NotFoundError:
            return
        if held["_source"]["owner"] != owner:
            return  # ours expired and someone else holds it now; never delete their lock
        try:
            client.delete(
                index=name, id=LOCK_ID, refresh=True, if_seq_no=held["_seq_no"], if_primary_term=held["_primary_term"]
            )
        except (ConflictError, NotFoundError):
            pass
