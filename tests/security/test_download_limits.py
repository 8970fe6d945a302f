"""The Safety Gate crawl refuses an oversized report (review M5): a weekly report is tens of
kilobytes, so its cap is 16 MiB, not the project-wide 512 MiB that one hostile report could fill
(ElementTree needs several times the body). A real `scrapy crawl` child against the loopback replay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.project import get_project_settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawlers.recorded import recorded_dir
from crawlers.run import crawl
from crawlers.sources.eu_safety_gate.spider import REPORT_MAXSIZE, EuSafetyGateSpider
from schema.engine import make_engine
from schema.models import Measure
from tbt_alert.settings import Settings
from tests.crawlers.test_recall_crawl_integration import FAST, SG_LIST, SG_REPORT, _replay_dir


def test_the_safety_gate_cap_is_far_below_the_project_cap_and_far_above_real_reports() -> None:
    settings: ScrapySettings = get_project_settings().copy()
    EuSafetyGateSpider.update_settings(settings)
    assert settings.getint("DOWNLOAD_MAXSIZE") == REPORT_MAXSIZE == 16 * 1024 * 1024
    assert settings.getint("DOWNLOAD_WARNSIZE") < REPORT_MAXSIZE
    from crawlers.saved import read_saved

    largest = max(len(read_saved(p)) for p in recorded_dir("eu_safety_gate").glob("report_*.xml.gz"))
    assert largest * 50 < REPORT_MAXSIZE  # the largest recorded report is 188 kB


def test_an_oversized_report_is_not_downloaded_and_the_others_are_stored(
    sqlite_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    snapshot = recorded_dir("eu_safety_gate")
    # Well-formed XML padded with a comment: only its size is wrong.
    oversized = b"<Safety-Gate><!--" + b"x" * (REPORT_MAXSIZE + 1024) + b"--></Safety-Gate>"
    replay = _replay_dir(
        tmp_path,
        "eu_safety_gate",
        [
            {"url": SG_LIST, "body": "weekly_list.xml"},
            {"url": SG_REPORT.format(10000282), "body": "report_10000282.xml.gz"},
            {"url": SG_REPORT.format(10000283), "body": "oversized.xml"},
        ],
        {
            "weekly_list.xml": (snapshot / "weekly_list.xml").read_bytes(),
            "report_10000282.xml.gz": (snapshot / "report_10000282.xml.gz").read_bytes(),
            "oversized.xml": oversized,
        },
    )
    settings = make_settings(TBT_DATABASE_URL=sqlite_url)
    outcome = crawl(settings, "eu_safety_gate", replay_dir=replay, timeout=120, scrapy_settings=FAST)
    assert outcome.status == "partial"
    assert outcome.error is not None
    assert "10000283" in outcome.error
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            stored = int(session.scalar(select(func.count()).select_from(Measure)) or 0)
    finally:
        engine.dispose()
    assert stored == outcome.new > 0
