"""A crawl's ``scrapy crawl`` child is SIGKILLed halfway through (after its first batch was
stored): the run is recorded as failed, the next crawl stores the rest, and the database
ends with exactly the measures a clean crawl stores: no duplicates, no spurious revisions.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from crawlers.outcome import CrawlOutcome
from crawlers.pipelines import BATCH_SIZE
from crawlers.run import crawl
from tbt_alert.settings import Settings
from tests.reliability.conftest import crawl_runs, measure_ids
from tests.reliability.snapshots import manifest, safety_gate_snapshot
from tests.tables import table_counts

pytestmark = pytest.mark.slow

# Twenty real weekly reports of 2020-2021 (about 1,400 alerts): several batches, ~20 requests.
REPORTS = [r for r in manifest() if r.published.year >= 2020 and 40 <= r.notifications <= 130][:20]


def _scrapy_child(source: str) -> psutil.Process | None:
    for child in psutil.Process().children(recursive=True):
        try:
            if "scrapy" in child.cmdline() and source in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_killed_crawl_is_resumed_by_the_next_without_duplicates(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    replay = tmp_path / "replay"
    safety_gate_snapshot(replay, REPORTS)
    settings = make_settings(TBT_DATABASE_URL=db_url)
    reference = make_settings(TBT_DATA_DIR=str(tmp_path / "reference"))
    clean = crawl(reference, "eu_safety_gate", replay_dir=replay)
    assert clean.status == "success"
    assert clean.new > 2 * BATCH_SIZE

    outcome: list[CrawlOutcome] = []
    worker = threading.Thread(target=lambda: outcome.append(crawl(settings, "eu_safety_gate", replay_dir=replay)))
    worker.start()
    stored_before_kill = 0
    deadline = time.monotonic() + 300
    while worker.is_alive() and time.monotonic() < deadline:
        stored_before_kill = table_counts(settings)["measures"]
        if stored_before_kill >= BATCH_SIZE:  # the first batch is committed
            break
        time.sleep(0.2)
    child = _scrapy_child("eu_safety_gate")
    assert child is not None, "the crawl finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    worker.join(timeout=120)

    killed = outcome[0]
    assert killed.status == "failed"
    assert f"scrapy exited with code -{int(signal.SIGKILL)}" in (killed.error or "")
    after_kill = table_counts(settings)
    assert BATCH_SIZE <= after_kill["measures"] < clean.new
    assert after_kill["measures"] % BATCH_SIZE == 0  # whole batches only

    resumed = crawl(settings, "eu_safety_gate", replay_dir=replay)

    assert resumed.status == "success"
    assert resumed.new == clean.new - after_kill["measures"]
    assert resumed.unchanged == after_kill["measures"]
    assert resumed.changed == 0
    assert measure_ids(settings) == measure_ids(reference)
    counts, expected = table_counts(settings), table_counts(reference)
    assert counts["measures"] == clean.new  # none twice
    assert counts["revisions"] == expected["revisions"]  # no spurious revision from the re-read
    assert [status for _, status, _, _ in crawl_runs(settings)] == ["failed", "success"]
