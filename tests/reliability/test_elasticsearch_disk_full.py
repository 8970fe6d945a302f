"""Elasticsearch's data disk fills up: the index stage reports it (naming the disk block),
the database keeps everything, and once space is freed the next run catches up until the
index holds every live measure again.

The data disk is a real, small filesystem: a 256 MB tmpfs mounted as our throwaway node's
``path.data`` (needs root, as the whole test set-up does). A filler file takes the space,
as a runaway log would. The node keeps its stock disk-watermark behaviour, with the
thresholds in absolute sizes that fit the small disk and a 10 s disk poll (its minimum).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline import stages
from search.lifecycle import index_counts
from tbt_alert.errors import SearchError
from tbt_alert.settings import Settings
from tests.reliability.conftest import REPLAY
from tests.reliability.services import ThrowawayElasticsearch
from tests.tables import table_counts

pytestmark = pytest.mark.slow

DISK_MB = 256
WATERMARKS = {
    "cluster.routing.allocation.disk.threshold_enabled": "true",
    "cluster.routing.allocation.disk.watermark.low": "80mb",
    "cluster.routing.allocation.disk.watermark.high": "60mb",
    "cluster.routing.allocation.disk.watermark.flood_stage": "40mb",
    "cluster.info.update.interval": "10s",
}
LEAVE_FREE_MB = 20  # below the flood stage


@pytest.fixture
def small_disk() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("mounting the small data disk (tmpfs) needs root; run the tests as root as CI does")
    point = Path(tempfile.mkdtemp(prefix="tbt-rel-esdisk-", dir="/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0755", "tmpfs", str(point)], check=True)
    try:
        yield point
    finally:
        subprocess.run(["umount", "--lazy", str(point)], check=False)
        point.rmdir()


def _free_mb(path: Path) -> float:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize / 2**20


def _fill(disk: Path, leave_mb: int) -> Path:
    filler = disk / "filler.bin"
    size = int((_free_mb(disk) - leave_mb) * 2**20)
    with filler.open("wb") as out:
        out.truncate(0)
        chunk = b"\0" * 2**20
        while size > 0:
            out.write(chunk[: min(size, len(chunk))])
            size -= len(chunk)
    return filler


def _blocked(node: ThrowawayElasticsearch, prefix: str) -> bool:
    found = node.get(f"/{prefix}-*/_settings/index.blocks.read_only_allow_delete?expand_wildcards=all")
    return any(
        (v.get("settings", {}).get("index", {}).get("blocks", {}) or {}).get("read_only_allow_delete") == "true"
        for v in found.values()
        if isinstance(v, dict)
    )


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def test_full_data_disk_is_reported_and_nothing_is_lost(
    throwaway_es: Callable[..., ThrowawayElasticsearch],
    small_disk: Path,
    make_settings: Callable[..., Settings],
) -> None:
    node = throwaway_es(data_dir=small_disk, settings=WATERMARKS)
    prefix = "tbt-rel-disk"
    settings = make_settings(TBT_ELASTICSEARCH_URL=node.url, TBT_INDEX_PREFIX=prefix, TBT_CLASSIFIER_MODE="rules")
    stages.sync_sources(settings)
    assert {r["status"] for r in stages.crawl_sources(settings, ["au_accc", "us_cpsc"], replay_dir=REPLAY)} == {
        "success"
    }
    stages.classify(settings)
    first = stages.update_index(settings)
    assert first["rebuilt"] is not None
    assert index_counts(settings)["in_sync"] is True

    filler = _fill(small_disk, LEAVE_FREE_MB)
    _wait(lambda: _blocked(node, prefix), "Elasticsearch to block writes at the flood stage")

    # New measures arrive while the disk is full; the crawl and tagging do not need the index.
    more = stages.crawl_sources(settings, ["eu_safety_gate", "ca_health_canada"], replay_dir=REPLAY)
    assert {r["status"] for r in more} == {"success"}
    stages.classify(settings)
    stored = table_counts(settings)
    with pytest.raises(SearchError) as refused:
        stages.update_index(settings)
    message = str(refused.value)
    assert "cluster_block_exception" in message, message
    assert "disk usage exceeded flood-stage watermark" in message, message
    counts = index_counts(settings)
    assert counts["in_sync"] is False
    assert counts["index"]["measures"] < stored["live_measures"]
    assert table_counts(settings) == stored  # nothing lost from the database

    filler.unlink()  # space comes back; Elasticsearch lifts the block by itself
    _wait(lambda: not _blocked(node, prefix), "Elasticsearch to lift the block")
    caught_up = stages.update_index(settings)

    assert caught_up["errors"] == []
    final = index_counts(settings)
    assert final["in_sync"] is True, final
    assert final["index"]["measures"] == stored["live_measures"]
    assert table_counts(settings) == stored
