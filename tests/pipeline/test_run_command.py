"""`tbt-alert run` as `make run` calls it: a child process, recorded data in, rows,
index documents, mails and a report out; run again, nothing is sent twice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from devtools.smtp_sink import SmtpSink
from schema.engine import make_engine, session_scope
from schema.models import Delivery, Measure
from tbt_alert.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
# The shipped recordings: crawlers/sources/<id>/recorded/ (crawlers.run.replay_folder finds them).
REPLAY = REPO_ROOT / "crawlers" / "sources"

pytestmark = [pytest.mark.slow, pytest.mark.encoder]


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TBT_")}
    env.update(settings.extra)
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            return {
                "measures": int(session.scalar(select(func.count()).select_from(Measure)) or 0),
                "sent": int(
                    session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) or 0
                ),
            }
    finally:
        engine.dispose()


def test_main_job_on_recorded_data_mails_bulletins_and_builds_the_report(
    make_settings: Callable[..., Settings], index_prefix: str, smtp_sink: SmtpSink, es: Any, tmp_path: Path
) -> None:
    # Two recorded recall sources keep it short: EU Safety Gate (many China-made products) and ACCC.
    replay = tmp_path / "replay"
    for source in ("eu_safety_gate", "au_accc"):
        shutil.copytree(REPLAY / source / "recorded", replay / source)
    settings = make_settings(TBT_INDEX_PREFIX=index_prefix, TBT_SMTP_PORT=str(smtp_sink.port))

    first = _run(settings, "--replay", str(replay))

    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    out = first.stdout
    counts = _counts(settings)
    assert counts["measures"] > 100
    assert f"measures stored:     {counts['measures']} " in out
    assert f"measures indexed:    {counts['measures']}" in out
    assert "mails (maildir):" in out
    assert "demo login demo, its password in " in out
    mails = smtp_sink.messages()
    assert counts["sent"] == len(mails) > 0
    assert all(m["To"].endswith("@example.com") for m in mails)  # only the constructed demo subscribers
    reports = sorted(p.name for p in (settings.reports_dir / "recall-risk").iterdir())
    assert any(name.endswith(".pdf") for name in reports)
    assert any(name.endswith(".html") for name in reports)

    again = _run(settings, "--replay", str(replay))

    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert _counts(settings) == counts
    assert len(smtp_sink.messages()) == len(mails)
