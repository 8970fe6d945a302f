"""Render bulletins and subscriber mails from the Jinja templates in ``alerts/templates/``.

HTML templates (``*.html.j2``) are autoescaped, so a measure title such as ``<script>`` or
``{{ 7*7 }}`` arrives as inert text (data is never parsed as a template). Per-measure blocks are
rendered once per language and day and reused across subscribers: composing for thousands of
subscribers renders each measure a handful of times, not thousands.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from alerts.explain import STRINGS, headline, plain_reasons, product_name, risk_text, sector_reasons
from alerts.gist import days_left, gist_zh
from alerts.matching import Candidate, Reason, TagView
from alerts.products import ProductLine, product_line, product_text
from alerts.standards_line import standards_line
from classifiers.hs_catalogue import dotted
from classifiers.hs_threshold import suggestion_threshold
from classifiers.labels import country_label, kind_label, relation_label, sector_label
from tbt_alert.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
CLOSING_SOON_DAYS = 14


@dataclass
class ItemView:
    """One measure in a bulletin, with why this subscriber gets it."""

    candidate: Candidate
    reasons: list[Reason]
    section: str = "new"  # new, changed, closing_soon
    follow_ups: list[ItemView] = field(default_factory=list)
    also_seen: list[Candidate] = field(default_factory=list)
    parent_label: str | None = None  # a follow-up whose parent is not in this bulletin
    # Near-duplicates shown as one item: recalls of the same market, product and hazard in the period.
    similar: list[Candidate] = field(default_factory=list)


@dataclass
class BulletinView:
    subscriber_email: str
    language: str
    frequency: str
    period_start: dt.datetime
    period_end: dt.datetime
    items: list[ItemView]
    closing_soon: list[ItemView]
    subscription_summaries: list[str]
    manage_url: str
    unsubscribe_url: str
    left_out: int = 0  # matching measures not listed because of TBT_BULLETIN_MAX_ITEMS


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def reason_text(reason: Reason, lang: str) -> str:
    """One reason in the reader's words (a suggested HS code says 推测 / suggested)."""
    t = STRINGS[lang]
    kind = reason.get("type")
    if kind == "sector":
        return t["reason_sector"].format(name=sector_label(reason["sector"], lang), score=f"{reason['score']:.2f}")
    if kind == "hs":
        if reason.get("suggested"):
            return t["reason_hs_suggested"].format(
                code=dotted(reason["code"]), prefix=reason["prefix"], score=f"{float(reason.get('score') or 0):.2f}"
            )
        return t["reason_hs"].format(code=reason["code"], prefix=reason["prefix"])
    if kind == "keyword":
        return t["reason_keyword"].format(keyword=reason["keyword"])
    if kind == "country":
        name = country_label(reason["country"], lang)
        if reason.get("group"):
            group = t["group_" + reason["group"]]
            name += f"（{group}）" if lang == "zh" else f" ({group})"
        return t["reason_country"].format(name=name)
    return ""


def reasons_text(reasons: list[Reason], lang: str) -> str:
    """Why a subscriber gets an item, all reasons in one line (the portal shows stored reasons so too)."""
    words = [w for w in (reason_text(r, lang) for r in reasons) if w]
    return ("；" if lang == "zh" else "; ").join(words) or STRINGS[lang]["all"]


class Renderer:
    """Renders bulletins for one compose run (one ``today``), caching what subscribers share."""

    def __init__(self, settings: Settings, today: dt.date):
        self.settings = settings
        self.today = today
        self.env = environment()
        self._blocks: dict[tuple[str, str, str], str] = {}
        self._reasons: dict[tuple[str, str, str], str] = {}
        self._gists: dict[str, str] = {}
        self._min_score: float | None = None

    def product_line(self, c: Candidate, lang: str) -> ProductLine | None:
        """The item's product; the suggestion threshold is read only for a measure with suggestions."""
        if c.hs_suggested and self._min_score is None:
            self._min_score = suggestion_threshold(self.settings)
        return product_line(c.hs_codes, c.hs_suggested, lang, min_score=self._min_score if c.hs_suggested else None)

    def product(self, c: Candidate, lang: str) -> str | None:
        """The item's product line as the mail prints it (中文品名：… · HS 8516.71)."""
        return product_text(self.product_line(c, lang), STRINGS[lang])

    def gist(self, c: Candidate) -> str:
        """The Chinese gist, the same in every language's bulletin: computed once per measure."""
        found = self._gists.get(c.id)
        if found is None:
            found = self._gists[c.id] = gist_zh(c.measure, c.tags, today=self.today)
        return found

    def measure_context(self, c: Candidate, lang: str) -> dict[str, Any]:
        m = c.measure
        t = STRINGS[lang]
        left = days_left(m.comment_deadline, self.today)
        deadline_note = None
        if left is not None:
            deadline_note = t["closed"] if left < 0 else t["today"] if left == 0 else t["days_left"].format(d=left)
        line = self.product_line(c, lang)
        documents = [(lang_code.upper(), url) for lang_code, url in sorted((m.documents or {}).items()) if url]
        return {
            "m": m,
            "country": country_label(m.country, lang),
            "origin": country_label(m.country_of_origin, lang) if m.country_of_origin else None,
            "kind": kind_label(m.kind, lang) + (f" · {relation_label(m.relation, lang)}" if m.relation else ""),
            "gist": self.gist(c),
            "show_title_en": bool(m.title_en and m.title_en.strip() != m.title.strip()),
            "headline": headline(m, line, c.tags, lang, self.today),
            "risk": risk_text(m, lang) if m.kind == "recall" else "",
            "sectors": sector_reasons(c.tags, lang),
            "hs_codes": list(c.hs_codes),
            "product": product_text(line, t),
            "standards": standards_line(m, lang),  # issue 27
            "deadline_note": deadline_note,
            "deadline_urgent": left is not None and 0 <= left <= CLOSING_SOON_DAYS,
            "documents": documents,
            "t": t,
            "lang": lang,
        }

    def block(self, c: Candidate, lang: str, kind: str) -> str:
        """The rendered measure block (``kind`` = html or txt), shared by every subscriber."""
        key = (c.id, lang, kind)
        found = self._blocks.get(key)
        if found is None:
            template = self.env.get_template(f"measure.{kind}.j2")
            found = template.render(self.measure_context(c, lang))
            self._blocks[key] = found
        return found

    def reason_line(self, c: Candidate, reasons: list[Reason], lang: str) -> str:
        """Why this subscriber gets the item, in plain words; many subscribers share the same
        reasons, so it is cached per measure and reasons."""
        key = (c.id, lang, repr(reasons))
        found = self._reasons.get(key)
        if found is None:
            product = product_name(c.measure, self.product_line(c, lang), c.tags, lang)
            found = self._reasons[key] = plain_reasons(reasons, c.measure, product, lang)
        return found

    def _item_context(self, item: ItemView, lang: str, kind: str) -> dict[str, Any]:
        block = self.block(item.candidate, lang, kind)
        return {
            "block": Markup(block) if kind == "html" else block,
            "why": self.reason_line(item.candidate, item.reasons, lang) if item.section != "closing_soon" else "",
            "section": item.section,
            # Sectors a classifier version switch added (issue 26): why an item mailed before comes again.
            "sectors_added": ("、" if lang == "zh" else ", ").join(
                sector_label(r["sector"], lang) for r in item.reasons if r.get("type") == "sector" and r.get("added")
            ),
            "parent_label": item.parent_label,
            "follow_ups": [self._item_context(f, lang, kind) for f in item.follow_ups],
            "also_seen": [
                {"source": a.measure.source_id, "url": a.measure.url, "key": a.measure.source_key}
                for a in item.also_seen
            ],
            "similar": [
                {"key": s.measure.source_key, "url": s.measure.url, "title": s.measure.title}
                for s in [item.candidate, *item.similar]
            ]
            if item.similar
            else [],
            "m": item.candidate.measure,
            "country": country_label(item.candidate.measure.country, lang),
            "deadline_left": days_left(item.candidate.measure.comment_deadline, self.today),
        }

    def summary(self, view: BulletinView) -> dict[str, Any]:
        lang = view.language
        countries: Counter[str] = Counter()
        sectors: Counter[str] = Counter()
        closing = 0
        for item in view.items:
            m = item.candidate.measure
            countries[country_label(m.country, lang)] += 1
            for code in dict.fromkeys(t.sector for t in item.candidate.tags):
                sectors[sector_label(code, lang)] += 1
            left = days_left(m.comment_deadline, self.today)
            if left is not None and 0 <= left <= CLOSING_SOON_DAYS:
                closing += 1
        closing += len(view.closing_soon)
        return {
            "count": sum(1 + len(i.similar) for i in view.items),
            "countries": countries.most_common(8),
            "sectors": sectors.most_common(8),
            "closing": closing,
        }

    def period_label(self, view: BulletinView) -> str:
        end = (view.period_end - dt.timedelta(seconds=1)).date()
        start = view.period_start.date()
        return start.isoformat() if start == end else f"{start.isoformat()} – {end.isoformat()}"

    def render_bulletin(self, view: BulletinView) -> tuple[str, str, str]:
        """(subject, html, text) of one bulletin."""
        lang = view.language
        t = STRINGS[lang]
        period = self.period_label(view)
        summary = self.summary(view)
        if view.items:
            subject = t["subject"].format(period=period, n=summary["count"])  # grouped recalls count too
        else:
            subject = t["subject_reminder"].format(period=period, m=len(view.closing_soon))
        common = {
            "t": t,
            "lang": lang,
            "view": view,
            "period": period,
            "summary": summary,
            "subject": subject,
            "footer_why": t["footer_why"].format(
                email=view.subscriber_email, subs=("；" if lang == "zh" else "; ").join(view.subscription_summaries)
            ),
            "contact_email": self.settings.contact_email,
            "today": self.today,
            "left_out": t["left_out"].format(n=view.left_out, cap=self.settings.bulletin_max_items)
            if view.left_out
            else "",
        }
        html = self.env.get_template("bulletin.html.j2").render(
            items=[self._item_context(i, lang, "html") for i in view.items],
            closing_soon=[self._item_context(i, lang, "html") for i in view.closing_soon],
            **common,
        )
        text = self.env.get_template("bulletin.txt.j2").render(
            items=[self._item_context(i, lang, "txt") for i in view.items],
            closing_soon=[self._item_context(i, lang, "txt") for i in view.closing_soon],
            **common,
        )
        return subject, html, text


def subscription_summary(subscription: Any, lang: str) -> str:
    """One phrase per subscription for the footer ("why you get this mail")."""
    t = STRINGS[lang]
    parts = [sector_label(s, lang) for s in subscription.sectors or []]
    parts += [f"HS {p}" for p in subscription.hs_prefixes or []]
    parts += [country_label(c, lang) for c in subscription.countries or []]
    parts += [t["group_" + g] for g in subscription.country_groups or [] if "group_" + g in t]
    parts += [f"“{k}”" for k in subscription.keywords or []]
    parts += [kind_label(k, lang) for k in subscription.kinds or []]
    what = ("、" if lang == "zh" else ", ").join(parts) or t["all"]
    return f"{what} · {t['freq_' + subscription.frequency]}"


def render_confirmation(settings: Settings, *, email: str, language: str, confirm_url: str) -> tuple[str, str, str]:
    """(subject, html, text) of the double opt-in mail."""
    lang = language if language in STRINGS else "zh"
    context = {"lang": lang, "email": email, "confirm_url": confirm_url, "contact_email": settings.contact_email}
    subject = (
        "请确认订阅 tbt-alert 技术性贸易措施预警" if lang == "zh" else "Please confirm your tbt-alert subscription"
    )
    env = environment()
    html = env.get_template("confirm.html.j2").render(subject=subject, **context)
    text = env.get_template("confirm.txt.j2").render(subject=subject, **context)
    return subject, html, text


__all__ = [
    "BulletinView",
    "ItemView",
    "Renderer",
    "TagView",
    "reason_text",
    "reasons_text",
    "render_confirmation",
    "subscription_summary",
]
