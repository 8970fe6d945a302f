"""Elasticsearch dies in the middle of indexing: the other stages still complete, the
index stage fails with a clear message, and once the node is back the next run catches
up until database and index counts are equal. The node is our own throwaway one (the
shared node on 9200 is never touched); it is SIGKILLed, as a crash or OOM kill would.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

from devtools.smtp_sink import SmtpSink
from pipeline import stages
from search.lifecycle import index_counts, rebuild_index
from tbt_alert.errors import SearchError
from tbt_alert.settings import Settings
from tests.reliability.conftest import REPLAY
from tests.reliability.services import ThrowawayElasticsearch
from tests.tables import table_counts

pytestmark = pytest.mark.slow

SOURCES = ["au_accc", "ca_health_canada", "eu_safety_gate"]
LATER_SOURCES = ["us_cpsc", "fr_rappelconso"]


def rebuild_while_the_node_dies(settings: Settings, pgid: int) -> str:
    """Rebuild the index and SIGKILL the node after the first batch; return the error raised."""
    killed: list[int] = []

    def kill_node_midway(kind: str, done: int) -> None:
        if not killed:
            killed.append(done)
            os.killpg(pgid, signal.SIGKILL)

    try:
        rebuild_index(settings, progress=kill_node_midway, batch_size=20)
    except SearchError as exc:
        return f"{type(exc).__name__}: {exc}" if killed == [20] else f"killed after {killed}: {exc}"
    return "the rebuild did not fail"


def test_elasticsearch_killed_while_indexing_then_the_next_run_catches_up(
    throwaway_es: Callable[..., ThrowawayElasticsearch],
    make_settings: Callable[..., Settings],
    smtp_sink: SmtpSink,
) -> None:
    node = throwaway_es()
    settings = make_settings(
        TBT_ELASTICSEARCH_URL=node.url,
        TBT_INDEX_PREFIX="tbt-rel",
        TBT_SMTP_PORT=str(smtp_sink.port),
        TBT_CLASSIFIER_MODE="rules",
    )
    stages.sync_sources(settings)
    stages.demo_subscribers(settings)
    crawled = stages.crawl_sources(settings, SOURCES, replay_dir=REPLAY)
    assert [r["status"] for r in crawled] == ["success"] * len(SOURCES), crawled
    stages.classify(settings)

    # The rebuild runs in a process of its own, as an Airflow task or `tbt-alert index` does:
    # it has created its indices and is loading them when the node dies.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        error = pool.submit(rebuild_while_the_node_dies, settings, node.pgid).result(timeout=600)
    node.kill()  # reap it
    assert error.startswith("SearchUnavailable: Elasticsearch at"), error
    assert "unreachable" in error
    assert "next run catches up" in error

    # Everything but the index goes on: more crawls, tagging, bulletins, mail.
    later = stages.crawl_sources(settings, LATER_SOURCES, replay_dir=REPLAY)
    assert [r["status"] for r in later] == ["success"] * len(LATER_SOURCES), later
    assert stages.classify(settings)["measures_tagged"] > 0
    # Immediate bulletins cover whole minutes up to now: compose a little later than the crawl.
    later_on = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    composed = stages.compose(settings, now=later_on)
    assert composed["bulletins"] > 0
    delivered = stages.deliver(settings, now=later_on)
    assert delivered["sent"] == composed["deliveries"] > 0
    with pytest.raises(SearchError, match=f"Elasticsearch at {node.url} is unreachable"):
        stages.update_index(settings)
    before_restart = table_counts(settings)

    node.start()  # same data folder: whatever the dead node left behind is still there
    caught_up = stages.update_index(settings)

    counts = index_counts(settings)
    assert caught_up["rebuilt"] is not None  # no live index yet: the catch-up is a full build
    assert counts["in_sync"] is True, counts
    assert counts["index"] == {"measures": before_restart["live_measures"], "bulletins": before_restart["bulletins"]}
    assert table_counts(settings) == before_restart  # the outage cost no row
    assert len(smtp_sink.messages()) == before_restart["deliveries"]

    # The next ordinary run is incremental again (it re-reads a short overlap, harmlessly).
    again = stages.update_index(settings)
    assert (again["rebuilt"], again["bulletins"], again["errors"]) == (None, 0, [])
    assert index_counts(settings)["in_sync"] is True
