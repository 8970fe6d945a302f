"""Each mail template rendered by headless Chromium (Debian's package): not blank, not wider than 700 px.

Screenshots go to tmp_path, never into the repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.compose import compose_bulletins
from alerts.render import render_confirmation
from schema.models import Bulletin
from tbt_alert.settings import Settings
from tests.alerts.conftest import NOW, constructed, real_records, store, subscribe

CHROMIUM = "/usr/bin/chromium"
MAX_WIDTH = 700

pytestmark = pytest.mark.browser


def _html_pages(session: Session, settings: Settings) -> dict[str, str]:
    records = real_records()
    records.append(
        constructed(
            "LONG-1",
            country="RUS",
            title="Проект технического регламента " + "очень-длинное-слово" * 12,
            why="a very long unbreakable title for the width test",
        )
    )
    store(session, records)
    subscribe(session, "zh@example.com", language="zh", countries="EUR;FIN;BHR;KWT;RUS;MWI;UKR;TWN")
    subscribe(session, "en@example.com", language="en", sectors="toys;auto_parts;chemicals_plastics")
    assert compose_bulletins(settings, now=NOW).bulletins == 2
    pages = {f"bulletin_{b.language}": b.html for b in session.scalars(select(Bulletin))}
    for lang in ("zh", "en"):
        pages[f"confirm_{lang}"] = render_confirmation(
            settings,
            email="x@example.com",
            language=lang,
            confirm_url="https://tbt.example.org/subscriptions/confirm?token=" + "A" * 120,
        )[1]
    return pages


def _not_blank(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None
    assert len(colours) > 20, f"{png} looks blank ({len(colours)} colours)"


def test_templates_render_in_chromium_within_700px(
    db_session: Session, alert_settings: Settings, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    pages = _html_pages(db_session, alert_settings)
    assert set(pages) == {"bulletin_zh", "bulletin_en", "confirm_zh", "confirm_en"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for name, html in pages.items():
                path = tmp_path / f"{name}.html"
                path.write_text(html, encoding="utf-8")
                png = tmp_path / f"{name}.png"
                subprocess.run(
                    [
                        CHROMIUM,
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--no-first-run",
                        "--hide-scrollbars",
                        f"--screenshot={png}",
                        f"--window-size={MAX_WIDTH},1400",
                        path.as_uri(),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                _not_blank(png)
                page = browser.new_page(viewport={"width": MAX_WIDTH, "height": 900})
                page.set_content(html)
                width = page.evaluate("document.documentElement.scrollWidth")
                card = page.evaluate("document.querySelector('table table').getBoundingClientRect().width")
                page.close()
                assert width <= MAX_WIDTH, f"{name} is {width}px wide"
                assert 300 < card <= MAX_WIDTH, f"{name}: content card {card}px"
        finally:
            browser.close()


def test_no_external_resources(db_session: Any, alert_settings: Settings) -> None:
    for name, html in _html_pages(db_session, alert_settings).items():
        assert "<script" not in html, name
        assert "<img" not in html, name
        assert "<link" not in html, name
        assert "@import" not in html, name
