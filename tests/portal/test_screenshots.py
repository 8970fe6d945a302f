"""Screenshots of what a Chinese reader sees, at desktop and phone widths: a measure page, a search,
a bulletin's HTML and the recall-risk report's first page. Each zh page is checked for raw Python
dicts and lists (``{'``, ``[{``) and for labels left in English; the images are kept as test
artefacts in var/test-artefacts/screenshots/ (ignored by git) for a person to look at.

Records are the portal fixture's real ones; the bulletin goes to a test subscriber (example.org).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.compose import compose_bulletins
from alerts.subscriptions import add_subscriber, add_subscription, criteria
from schema.engine import session_scope
from schema.models import Bulletin, Measure
from tests.portal.conftest import PortalEnv
from tests.portal.test_browser import shot

pytestmark = pytest.mark.browser
ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts" / "screenshots"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
CJK = re.compile(r"[\u3400-\u9fff]")
# Labels that are not words: codes, numbers and names the trade writes in Latin letters anyway.
LATIN_LABELS = re.compile(r"^[\s\W\d]*(?:HS|ICS|TBT|SPS|CSV|Excel|API|WTO|ID|UTC|PDF|HTML|English)?[\s\W\d]*$")
# Where a page puts its labels: headings, table and list heads, form labels, buttons, notes' labels.
LABEL_SELECTOR = "h1, h2, h3, th, dt, label, button, summary, .label, nav a, .facet h3"


@pytest.fixture(scope="module")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


def _check_zh(page: Any, name: str) -> None:
    """No raw dict or list in the text, and every label in Chinese (or a code such as HS)."""
    text = page.inner_text("body")
    for raw in ("{'", "[{", "'type'", "'score'"):
        assert raw not in text, f"{name}: raw data {raw!r} on the page"
    english = [
        label
        for label in (t.strip() for t in page.locator(LABEL_SELECTOR).all_inner_texts())
        if label and not CJK.search(label) and not LATIN_LABELS.match(label)
    ]
    assert english == [], f"{name}: labels left in English: {english}"


def _log_in(page: Any, live_portal: str, env: PortalEnv) -> None:
    page.goto(f"{live_portal}/login")
    page.fill("input[name=username]", "staff1")
    page.fill("input[name=password]", env.passwords["staff1"])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _a_recall_with_sectors(env: PortalEnv) -> str:
    engine = env.engine()
    try:
        with session_scope(engine) as session:
            from schema.models import SectorTag

            found = session.scalars(
                select(Measure.id)
                .join(SectorTag, SectorTag.measure_id == Measure.id)
                .where(Measure.kind == "recall")
                .order_by(Measure.id)
            ).first()
            return found or env.recall_id
    finally:
        engine.dispose()


def _zh_bulletin(env: PortalEnv) -> str:
    """A zh bulletin of this week's recalls for a test subscriber, composed with the real pipeline."""
    engine = env.engine()
    try:
        with session_scope(engine) as session:
            subscriber = add_subscriber(session, email="screenshots@example.org", language="zh", confirmed=True)
            add_subscription(session, subscriber, criteria(kinds="recall", frequency="immediate"))
        # Immediate: the day before ``now``, in which the fixture stored and tagged its records.
        outcome = compose_bulletins(env.settings, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2))
        with session_scope(engine) as session:
            html = session.scalars(
                select(Bulletin.html).where(Bulletin.language == "zh").order_by(Bulletin.id.desc())
            ).first()
    finally:
        engine.dispose()
    assert html, f"no zh bulletin was composed from the fixture's recalls: {outcome}"
    return html


@pytest.mark.parametrize("width", list(WIDTHS))
def test_zh_pages_at_desktop_and_phone_width(
    browser, live_portal: str, portal_env: PortalEnv, artefacts: Path, width: str
) -> None:
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _log_in(page, live_portal, portal_env)

    page.goto(f"{live_portal}/measures/{portal_env.tagged_id}")
    page.wait_for_selector("#measure-header")
    _check_zh(page, "measure page")
    shot(page, artefacts, f"measure-{width}")
    # A recall: its pictures are asked of the portal (offline here, the source's server is not
    # reachable, so the portal answers 502 for them: the only errors allowed on this page).
    page.goto(f"{live_portal}/measures/{_a_recall_with_sectors(portal_env)}")
    page.wait_for_selector("#measure-header")
    _check_zh(page, "recall page")
    shot(page, artefacts, f"recall-{width}")

    page.goto(f"{live_portal}/search?q=玩具")
    page.wait_for_selector("#total")
    _check_zh(page, "search page")
    assert page.locator("#interpretation").count() == 1  # the reading of a Chinese query is shown
    shot(page, artefacts, f"search-{width}")

    page.goto(f"{live_portal}/search?q=zzqqxxnothingatall")
    assert page.locator("nav.pager").count() == 0
    assert page.get_attribute("input[name=date_from]", "placeholder") == "年-月-日"
    shot(page, artefacts, f"search-empty-{width}")
    # No CSP violation or script error; the pictures' 502 (offline) is the only failed load allowed.
    assert [e for e in errors if "502 (Bad Gateway)" not in e] == []
    context.close()


def test_the_label_check_finds_english_labels(browser, live_portal: str, portal_env: PortalEnv) -> None:
    """The English measure page fails the zh check: the check can fail."""
    page = browser.new_page()
    _log_in(page, live_portal, portal_env)
    page.goto(f"{live_portal}/lang/en?next=/measures/{portal_env.tagged_id}")
    page.wait_for_selector("#measure-header")
    with pytest.raises(AssertionError, match="labels left in English"):
        _check_zh(page, "English measure page")
    page.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_zh_bulletin_html_at_desktop_and_phone_width(
    browser, portal_env: PortalEnv, artefacts: Path, width: str
) -> None:
    html = _zh_bulletin(portal_env) if width == "desktop" else _latest_zh_bulletin(portal_env)
    w, h = WIDTHS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    page.set_content(html)
    text = page.inner_text("body")
    for raw in ("{'", "[{", "model:", "≈", "Serious risk", " · serious"):
        assert raw not in text, f"bulletin: {raw!r}"
    assert "匹配原因：您订阅了" in text
    assert "原文标题" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= max(w, 700)
    shot(page, artefacts, f"bulletin-{width}")
    page.close()


def _latest_zh_bulletin(env: PortalEnv) -> str:
    engine = env.engine()
    try:
        with session_scope(engine) as session:
            html = session.scalars(
                select(Bulletin.html).where(Bulletin.language == "zh").order_by(Bulletin.id.desc())
            ).first()
    finally:
        engine.dispose()
    return html or _zh_bulletin(env)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_report_first_page_at_desktop_and_phone_width(
    browser, portal_env: PortalEnv, artefacts: Path, width: str
) -> None:
    html_path = _report(portal_env)
    w, h = WIDTHS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto(html_path.as_uri())
    page.wait_for_load_state()
    text = page.inner_text("body")
    for raw in ("{'", "[{"):
        assert raw not in text
    path = artefacts / f"report-first-page-{width}.png"
    page.screenshot(path=str(path))  # the viewport: what a reader sees first
    assert path.stat().st_size > 10_000
    page.close()


def _report(env: PortalEnv) -> Path:
    """The fixture's recall-risk report of its month (built once per module)."""
    folder = env.settings.reports_dir
    built = sorted(folder.rglob("*.html")) if folder.exists() else []
    if built:
        return built[0]
    from pipeline.stages import build_recall_risk_report

    return Path(build_recall_risk_report(env.settings, period="2025-12")["html_path"])
