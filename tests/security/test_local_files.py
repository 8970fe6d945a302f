"""Local state is its owner's alone (review L5): the data dir, a new database folder and the backups
are mode 700, each backup file 600; on a shared host other users read no password hash, API-key
hash or subscriber address from them."""

from __future__ import annotations

import stat
from pathlib import Path

from pipeline.maintenance import backup_database
from schema.engine import make_engine
from schema.migrate import upgrade
from tbt_alert.settings import load_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_made_for_the_local_key_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "var"
    load_settings({"TBT_DATA_DIR": str(data_dir)})  # no TBT_SECRET_KEY: the local key is made there
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "secret_key") == 0o600


def test_a_new_database_folder_and_the_backups_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    database = tmp_path / "db" / "tbt-alert.sqlite"
    settings = load_settings(
        {
            "TBT_DATA_DIR": str(data_dir),
            "TBT_SECRET_KEY": "not-for-production-" + "k" * 20,
            "TBT_DATABASE_URL": f"sqlite:///{database}",
        }
    )
    make_engine(settings.database_url).dispose()
    assert _mode(database.parent) == 0o700
    upgrade(settings.database_url)
    backup = backup_database(settings)
    assert _mode(backup.parent) == 0o700
    assert _mode(backup) == 0o600
