"""Data safety: back up a database the pipeline has filled (crawl, tags, subscribers,
bulletins, deliveries), restore the backup into a fresh, empty database, rebuild the search
index from it, and get the same counts everywhere. SQLite (backup API) and PostgreSQL
(pg_dump / pg_restore).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.databases import throwaway_database
from pipeline import maintenance, stages
from search.lifecycle import index_counts, rebuild_index
from tbt_alert.settings import Settings
from tests.reliability.conftest import REPLAY, measure_ids
from tests.tables import table_counts

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_database_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as ``db_url``: no tables, nothing migrated."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'tbt-alert.sqlite'}"
        return
    with throwaway_database(f"tbt_restored_{uuid.uuid4().hex[:8]}") as url:
        yield url


def test_backup_restored_into_a_fresh_database_rebuilds_the_same_index(
    db_url: str,
    fresh_database_url: str,
    index_prefix: str,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    original = make_settings(
        TBT_DATABASE_URL=db_url, TBT_INDEX_PREFIX=index_prefix, TBT_CLASSIFIER_MODE="rules", TBT_SMTP_PORT="1"
    )  # no relay: the deliveries stay queued, and must survive too
    stages.sync_sources(original)
    stages.demo_subscribers(original)
    crawled = stages.crawl_sources(original, ["au_accc", "eu_safety_gate", "wto_eping"], replay_dir=REPLAY)
    assert {r["status"] for r in crawled} <= {"success", "partial"}
    stages.classify(original)
    assert stages.compose(original, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2))["bulletins"] > 0
    stages.update_index(original)
    before = table_counts(original)
    indexed_before = index_counts(original)
    assert indexed_before["in_sync"] is True
    assert before["quarantined"] > 0  # wto_eping's rejected records are part of what must survive

    backup = maintenance.backup_database(original, destination=tmp_path / "backups", label="reliability")
    restored = make_settings(
        TBT_DATA_DIR=str(tmp_path / "restored"),
        TBT_DATABASE_URL=fresh_database_url,
        TBT_INDEX_PREFIX=f"{index_prefix}-restored",
        TBT_CLASSIFIER_MODE="rules",
    )
    maintenance.restore_database(restored, backup)
    rebuilt = rebuild_index(restored)

    assert table_counts(restored) == before
    assert measure_ids(restored) == measure_ids(original)
    assert (rebuilt.measures, rebuilt.bulletins) == (before["live_measures"], before["bulletins"])
    after = index_counts(restored)
    assert after["in_sync"] is True
    assert after["database"] == indexed_before["database"]
    assert after["index"] == indexed_before["index"]
    # Restored data is live data: the next stages carry on from it and find nothing left to do.
    assert stages.classify(restored)["measures_tagged"] == 0
