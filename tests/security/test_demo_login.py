"""The demo login that `tbt-alert run` makes (review L6): its password is random, the database keeps
only its hash, the output shows where the password is (a mode-600 file), never the password, and
production gets no demo account at all."""

from __future__ import annotations

import stat
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from pipeline.commands.run import _demo_login
from portal.security import verify_password
from portal.users import DEMO_USERNAME
from schema.engine import make_engine, session_scope
from schema.models import User
from tbt_alert.settings import Settings


def _dump(settings: Settings) -> str:
    """Every row of every table as text: where a password in clear would show."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
            return "\n".join(str(row) for table in tables for row in conn.execute(text(f'SELECT * FROM "{table}"')))
    finally:
        engine.dispose()


def test_the_demo_password_is_only_in_a_private_file_and_in_the_database_as_a_hash(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    login = _demo_login(settings)
    assert login is not None
    username, path = login
    assert username == DEMO_USERNAME
    assert path.parent == settings.data_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 16

    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            stored = session.scalars(select(User.password_hash).where(User.username == DEMO_USERNAME)).one()
    finally:
        engine.dispose()
    assert verify_password(stored, password)
    assert password not in _dump(settings)

    # A second run shows the same login and the same file, and changes nothing.
    assert _demo_login(settings) == (DEMO_USERNAME, path)
    assert path.read_text().strip() == password


def test_the_run_summary_names_the_file_not_the_password(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.commands import run

    settings = make_settings()
    run._print_summary(settings, run._Job())
    out = capsys.readouterr().out
    password = (settings.data_dir / "demo_password").read_text().strip()
    assert password not in out
    assert f"demo login {DEMO_USERNAME}, its password in {settings.data_dir / 'demo_password'}" in out


def test_production_gets_no_demo_account(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(TBT_ENV="production")
    assert _demo_login(settings) is None
    assert not (settings.data_dir / "demo_password").exists()
    assert "demo" not in _dump(settings)
