"""Every timestamp tbt-alert stores, compares or hands between stages is an aware UTC datetime."""

from __future__ import annotations

import datetime as dt


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken to be UTC already.

    Naive values come from SQLite (which has no time zones and hands back what we stored,
    in UTC) and from callers that mean UTC without saying so.
    """
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
