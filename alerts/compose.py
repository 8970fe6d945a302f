"""Compose the bulletins that are due: one per subscriber, frequency and period.

Periods are fixed by the clock, in UTC: *daily* = the previous calendar day, *weekly* = the
previous Monday-to-Monday week, *immediate* = from the subscription's last bulletin to the current
minute. A subscription remembers ``last_bulletin_at`` (the end of the last period composed for it),
so rerunning compose for the same ``now`` finds nothing due and creates nothing: the unique
(subscriber, period) constraint on bulletins is the last guard.

For each due subscriber the measures new or changed in the window (or newly tagged in it) that
match any of their subscriptions are collected with the reasons; a measure already in one of
their earlier bulletins is left out unless it changed since; the same measure seen through two
sources (same ``document_symbol``) is shown once; follow-ups are grouped under their parent;
near-duplicate recalls (same market, product and hazard) are one item listing their references; and
measures alerted before whose comment period closes within 14 days are listed as reminders, once.

HS subscriptions also match suggested HS codes (measures whose source lists none) from
``TBT_HS_SUGGESTION_MIN_SCORE``, by default the threshold calibrated with the HS index; it is read
only when a candidate has suggestions, so composing needs no trained HS index otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, Select, and_, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from alerts.links import manage_url, unsubscribe_url
from alerts.matching import Candidate, MeasurePool, Reason, merge_reasons, prepare
from alerts.outbox import new_message_id
from alerts.render import CLOSING_SOON_DAYS, BulletinView, ItemView, Renderer, subscription_summary
from alerts.subscriptions import LANGUAGES
from classifiers.hs_threshold import suggestion_threshold
from classifiers.versions import served, served_only
from schema.engine import engine_scope, session_factory
from schema.models import (
    Bulletin,
    BulletinItem,
    Delivery,
    Measure,
    SectorTag,
    Subscriber,
    Subscription,
    SuggestedHsCode,
)
from tbt_alert.clock import as_utc
from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

CATCH_UP_LIMIT = dt.timedelta(days=31)  # after an outage, look back at most this far
BATCH = 500  # bulletins per transaction: a crash loses at most one batch of work, never sends twice
_CHUNK = 500  # ids per IN (...) list


@dataclass
class ComposeOutcome:
    bulletins: int = 0
    deliveries: int = 0
    items: int = 0
    due: int = 0  # (subscriber, frequency) groups that were due
    empty: int = 0  # due but nothing to say
    already_composed: int = 0
    bulletin_ids: list[int] = field(default_factory=list)


@dataclass
class _Group:
    subscriber: Subscriber
    frequency: str
    subscriptions: list[Subscription]
    period_start: dt.datetime
    period_end: dt.datetime
    window_start: dt.datetime


_Pending = tuple[_Group, BulletinView]  # a composed bulletin waiting for its batch to be written


def period_for(frequency: str, now: dt.datetime, last: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) of the period a bulletin composed at ``now`` covers."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if frequency == "daily":
        return midnight - dt.timedelta(days=1), midnight
    if frequency == "weekly":
        monday = midnight - dt.timedelta(days=midnight.weekday())
        return monday - dt.timedelta(days=7), monday
    end = now.replace(second=0, microsecond=0)
    start = last if last is not None and last < end else end - dt.timedelta(days=1)
    return max(start, end - CATCH_UP_LIMIT), end


def _chunks(values: Sequence[object], size: int = _CHUNK) -> Iterable[Sequence[object]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _due_groups(session: Session, now: dt.datetime) -> list[_Group]:
    rows = session.execute(
        select(Subscription, Subscriber)
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.active.is_(True), Subscriber.confirmed.is_(True), Subscriber.unsubscribed_at.is_(None))
        .order_by(Subscriber.id, Subscription.id)
    ).all()
    grouped: dict[tuple[int, str], list[tuple[Subscription, Subscriber]]] = defaultdict(list)
    for sub, subscriber in rows:
        grouped[(subscriber.id, sub.frequency)].append((sub, subscriber))
    groups = []
    for (_, frequency), members in grouped.items():
        subs = [s for s, _ in members]
        lasts = [s.last_bulletin_at for s in subs]
        known = [x for x in lasts if x is not None]
        start, end = period_for(frequency, now, min(known) if known else None)
        if all(x is not None and x >= end for x in lasts):
            continue  # composed for this period already
        window_start = start
        if known and min(known) < start:
            window_start = max(min(known), end - CATCH_UP_LIMIT)
        groups.append(_Group(members[0][1], frequency, subs, start, end, window_start))
    return groups


def _with_tags(ids: Sequence[object]) -> Select[Measure]:
    return (
        select(Measure)
        .where(Measure.id.in_(ids))
        .options(selectinload(Measure.sector_tags), selectinload(Measure.hs_suggestions), *served_only())
    )


def _load_candidates(
    session: Session, start: dt.datetime, end: dt.datetime
) -> tuple[list[Candidate], dict[str, dt.datetime]]:
    """Measures changed or newly tagged in [start, end), their tags and parents; and when each changed.

    New suggested HS codes count as a new tagging (they are written with the tags; a measure whose
    new classifier version adds no tag but a suggestion must still reach its HS subscribers).
    """
    # Served rows only (issue 26): a re-tag writing beside is not news; a sector its switch added is.
    tagged = select(SectorTag.measure_id).where(
        or_(
            and_(SectorTag.created_at >= start, SectorTag.created_at < end),
            and_(SectorTag.added_at >= start, SectorTag.added_at < end),
        ),
        served(SectorTag),
    )
    suggested = select(SuggestedHsCode.measure_id).where(
        SuggestedHsCode.created_at >= start, SuggestedHsCode.created_at < end, served(SuggestedHsCode)
    )
    measures = list(
        session.scalars(
            select(Measure)
            .where(
                Measure.withdrawn.is_(False),
                or_(
                    and_(Measure.last_changed >= start, Measure.last_changed < end),
                    Measure.id.in_(tagged),
                    Measure.id.in_(suggested),
                ),
            )
            .options(selectinload(Measure.sector_tags), selectinload(Measure.hs_suggestions), *served_only())
            .order_by(Measure.id)
        )
    )
    changed_at: dict[str, dt.datetime] = {}
    for m in measures:
        stamps = [m.last_changed] + [t.created_at for t in m.sector_tags] + [s.created_at for s in m.hs_suggestions]
        stamps += [t.added_at for t in m.sector_tags if t.added_at is not None]
        in_window = [s for s in stamps if start <= s < end]
        changed_at[m.id] = max(in_window) if in_window else m.last_changed
    parent_ids = sorted({m.parent_id for m in measures if m.parent_id} - {m.id for m in measures})
    parents = {m.id: m for m in measures}
    for chunk in _chunks(parent_ids):
        for p in session.scalars(_with_tags(chunk)):
            parents[p.id] = p
    return prepare(measures, parents), changed_at


def _key(m: Measure) -> str:
    """The cross-source identity: the same notification seen through two sources shares it."""
    return m.document_symbol.strip() if m.document_symbol and m.document_symbol.strip() else m.id


def _prior_alerts(session: Session, candidates: Sequence[Candidate]) -> dict[tuple[int, str], dt.datetime]:
    """(subscriber id, measure key) -> end of the latest period in which they were alerted to it."""
    ids = [c.id for c in candidates]
    symbols = sorted({c.measure.document_symbol for c in candidates if c.measure.document_symbol})
    found: dict[tuple[int, str], dt.datetime] = {}
    queries = [Measure.id.in_(chunk) for chunk in _chunks(ids)] + [
        Measure.document_symbol.in_(chunk) for chunk in _chunks(symbols)
    ]
    for condition in queries:
        rows = session.execute(
            select(Bulletin.subscriber_id, Measure, Bulletin.period_end)
            .join(BulletinItem, BulletinItem.bulletin_id == Bulletin.id)
            .join(Measure, Measure.id == BulletinItem.measure_id)
            .where(condition, BulletinItem.section.in_(("new", "changed")))
        ).all()
        for subscriber_id, measure, period_end in rows:
            key = (subscriber_id, _key(measure))
            if key not in found or period_end > found[key]:
                found[key] = period_end
    return found


def _reminders(session: Session, today: dt.date) -> dict[int, list[Measure]]:
    """Subscriber id -> measures alerted before whose comment period closes within 14 days, not yet reminded."""
    rows = session.execute(
        select(Bulletin.subscriber_id, BulletinItem.measure_id, BulletinItem.section)
        .join(BulletinItem, BulletinItem.bulletin_id == Bulletin.id)
        .join(Measure, Measure.id == BulletinItem.measure_id)
        .where(
            Measure.comment_deadline >= today,
            Measure.comment_deadline <= today + dt.timedelta(days=CLOSING_SOON_DAYS),
        )
    ).all()
    alerted: dict[int, set[str]] = defaultdict(set)
    reminded: dict[int, set[str]] = defaultdict(set)
    for subscriber_id, measure_id, section in rows:
        (reminded if section == "closing_soon" else alerted)[subscriber_id].add(measure_id)
    wanted = {sid: ids - reminded[sid] for sid, ids in alerted.items() if ids - reminded[sid]}
    all_ids = sorted(set().union(*wanted.values())) if wanted else []
    measures: dict[str, Measure] = {}
    for chunk in _chunks(all_ids):
        for m in session.scalars(_with_tags(chunk)):
            measures[m.id] = m
    return {
        sid: sorted((measures[i] for i in ids if i in measures), key=lambda m: (m.comment_deadline, m.id))
        for sid, ids in wanted.items()
    }


def _representative(members: list[tuple[Candidate, list[Reason]]]) -> int:
    """Which of several records of one measure to show: the richest (English title, documents, text)."""

    def richness(entry: tuple[Candidate, list[Reason]]) -> tuple[int, int, str]:
        m = entry[0].measure
        return (
            -(bool(m.title_en) + len(m.documents or {}) + bool(m.description) + len(m.hs_codes or [])),
            -len(entry[1]),
            m.id,
        )

    return min(range(len(members)), key=lambda i: richness(members[i]))


def _added_since(measure: Measure, since: dt.datetime) -> set[str]:
    """Sectors a classifier version switch added to ``measure`` after ``since`` (SectorTag.added_at)."""
    return {t.sector for t in measure.sector_tags if t.added_at is not None and t.added_at > since}


def _items_for(
    group: _Group,
    pool: MeasurePool,
    changed_at: dict[str, dt.datetime],
    prior: dict[tuple[int, str], dt.datetime],
) -> list[ItemView]:
    matches: dict[int, list[Reason]] = {}
    for sub in group.subscriptions:
        for i, reasons in pool.match(sub).items():
            matches[i] = merge_reasons(matches.get(i, []), reasons)
    by_key: dict[str, list[tuple[Candidate, list[Reason]]]] = defaultdict(list)
    sections: dict[str, str] = {}
    for i in sorted(matches):
        c = pool.candidates[i]
        stamp = changed_at.get(c.id)
        if stamp is None or not group.window_start <= stamp < group.period_end:
            continue
        key = _key(c.measure)
        before = prior.get((group.subscriber.id, key))
        reasons = matches[i]
        if before is not None and before >= c.measure.last_changed:
            # They already have this version; a new classifier version changes nothing for them
            # unless its switch added a sector they follow (issue 26): then once more, marked.
            added = _added_since(c.measure, before)
            reasons = [
                dict(r, added=True) if r.get("type") == "sector" and r["sector"] in added else r for r in reasons
            ]
            if not any(r.get("added") for r in reasons):
                continue
        sections[key] = "changed" if before is not None else "new"
        by_key[key].append((c, reasons))
    items: dict[str, ItemView] = {}
    for key, members in by_key.items():
        pick = _representative(members)
        chosen, _ = members[pick]
        items[key] = ItemView(
            candidate=chosen,
            reasons=merge_reasons(*(r for _, r in members)),
            section=sections[key],
            also_seen=[c for j, (c, _) in enumerate(members) if j != pick],
        )
    # Follow-ups under their parent when the parent is in this bulletin too.
    id_to_key = {}
    for key, item in items.items():
        id_to_key[item.candidate.id] = key
        for other in item.also_seen:
            id_to_key[other.id] = key
    top: list[ItemView] = []
    for key, item in items.items():
        m = item.candidate.measure
        parent_key = id_to_key.get(m.parent_id) if m.parent_id else None
        if parent_key is not None and parent_key != key:
            items[parent_key].follow_ups.append(item)
            continue
        if m.parent_id and m.parent is not None:
            item.parent_label = m.parent.document_symbol or m.parent.title[:120]
        top.append(item)

    def order(item: ItemView) -> tuple[int, str, str]:
        m = item.candidate.measure
        deadline = m.comment_deadline.isoformat() if m.comment_deadline else "9999"
        return (0 if item.section == "new" else 1, deadline, m.id)

    for item in top:
        item.follow_ups.sort(key=order)
    return group_similar(sorted(top, key=order))


def _words(text: str | None) -> str:
    return " ".join(re.findall(r"\w+", (text or "").casefold()))


def similarity_key(m: Measure) -> tuple[str, str, str] | None:
    """(market, product, hazard) of a recall, or None for what is never grouped: two recalls with
    the same key say the same thing to an exporter (four "Coffee pot · Burns" alerts from Cyprus).
    The product is the source's product type, else the title up to its first dash; the hazard is
    the source's risk type, both compared word by word, case-insensitively."""
    if m.kind != "recall" or not m.country:
        return None
    product = _words(m.product_type) or _words(re.split(r"\s[–—-]\s", m.title or "", maxsplit=1)[0])
    hazard = " ".join(sorted(_words(part) for part in (m.risk_type or "").split(",") if _words(part)))
    if not product or not hazard:
        return None  # without both, two recalls may be about different things
    return m.country, product, hazard


def group_similar(items: list[ItemView]) -> list[ItemView]:
    """Near-duplicate recalls as one item (the first in bulletin order) listing the others; an item
    with follow-ups or other sources' records stays alone, so nothing it carries is hidden."""
    firsts: dict[tuple[str, tuple[str, str, str]], ItemView] = {}
    kept: list[ItemView] = []
    for item in items:
        key = similarity_key(item.candidate.measure)
        if key is None or item.follow_ups or item.also_seen:
            kept.append(item)
            continue
        first = firsts.get((item.section, key))
        if first is None:
            firsts[(item.section, key)] = item
            kept.append(item)
        else:
            first.similar.append(item.candidate)
            first.reasons = merge_reasons(first.reasons, item.reasons)
    return kept


def _most_relevant(items: list[ItemView], cap: int) -> tuple[list[ItemView], int]:
    """At most ``cap`` items, the most relevant kept in their bulletin order; and how many were left out.

    Relevance is the best score among an item's reasons (a sector tag's score; exact HS,
    keyword and country matches count as certain), then the nearer comment deadline.
    """
    if len(items) <= cap:
        return items, 0

    def relevance(pair: tuple[int, ItemView]) -> tuple[float, str, int]:
        index, item = pair
        scores = [float(r["score"]) if r.get("score") is not None else 1.0 for r in item.reasons] or [0.0]
        deadline = item.candidate.measure.comment_deadline
        return (-max(scores), deadline.isoformat() if deadline else "9999", index)

    keep = sorted(sorted(enumerate(items), key=relevance)[:cap], key=lambda pair: pair[0])
    return [item for _, item in keep], len(items) - cap


def compose_bulletins(
    settings: Settings, *, now: dt.datetime | None = None, engine: Engine | None = None
) -> ComposeOutcome:
    """Compose, render and queue (as deliveries) every bulletin due at ``now``; idempotent for its period."""
    now = as_utc(now or dt.datetime.now(dt.UTC))
    outcome = ComposeOutcome()
    # _write commits each batch itself, so a plain session rather than session_for's.
    with engine_scope(engine or settings) as engine, session_factory(engine)() as session:
        groups = _due_groups(session, now)
        outcome.due = len(groups)
        if not groups:
            return outcome
        inputs = _load_inputs(session, groups, now.date(), settings)
        _compose_in_batches(session, settings, Renderer(settings, now.date()), groups, inputs, outcome)
    log.info(
        "composed %d bulletins (%d items) for %d due groups; %d empty, %d already composed",
        outcome.bulletins,
        outcome.items,
        outcome.due,
        outcome.empty,
        outcome.already_composed,
    )
    return outcome


@dataclass
class _Inputs:
    """What the due groups' bulletins are made of, loaded once for all of them."""

    existing: set[tuple[int, dt.datetime, dt.datetime]]  # (subscriber, period) composed already
    pool: MeasurePool
    changed_at: dict[str, dt.datetime]
    prior: dict[tuple[int, str], dt.datetime]
    reminders: dict[int, list[Measure]]


def suggestion_min_score(settings: Settings, candidates: Sequence[Candidate]) -> float | None:
    """The score from which a suggested HS code answers an HS subscription; None when no candidate
    could use one (all list source codes or have no suggestion), so no HS index is needed then."""
    if not any(c.hs_suggested and not c.hs_codes for c in candidates):
        return None
    return suggestion_threshold(settings)


def _load_inputs(session: Session, groups: Sequence[_Group], today: dt.date, settings: Settings) -> _Inputs:
    # One window covering every group: a query per group would repeat the same rows.
    start = min(g.window_start for g in groups)
    end = max(g.period_end for g in groups)
    candidates, changed_at = _load_candidates(session, start, end)
    return _Inputs(
        existing=_existing_bulletins(session, groups),
        pool=MeasurePool(candidates, hs_min_score=suggestion_min_score(settings, candidates)),
        changed_at=changed_at,
        prior=_prior_alerts(session, candidates),
        reminders=_reminders(session, today),
    )


def _compose_in_batches(
    session: Session,
    settings: Settings,
    renderer: Renderer,
    groups: Sequence[_Group],
    inputs: _Inputs,
    outcome: ComposeOutcome,
) -> None:
    """Every group's bulletin, written BATCH at a time with the subscriptions it advances."""
    pending: list[_Pending] = []
    done_subs: list[dict[str, object]] = []
    for group in groups:
        # Advanced even when nothing is sent: an empty or already composed period is done too.
        done_subs += [{"id": sub.id, "last_bulletin_at": group.period_end} for sub in group.subscriptions]
        if (group.subscriber.id, group.period_start, group.period_end) in inputs.existing:
            outcome.already_composed += 1
            continue
        view = _view_for(group, settings, inputs)
        if view is None:
            outcome.empty += 1
            continue
        pending.append((group, view))
        if len(pending) >= BATCH:
            _write(session, settings, renderer, pending, done_subs, outcome)
            pending, done_subs = [], []
    _write(session, settings, renderer, pending, done_subs, outcome)


def _view_for(group: _Group, settings: Settings, inputs: _Inputs) -> BulletinView | None:
    """The bulletin of one due group, or None when it has nothing to say."""
    matched = _items_for(group, inputs.pool, inputs.changed_at, inputs.prior)
    items, left_out = _most_relevant(matched, settings.bulletin_max_items)
    shown = {i.candidate.id for i in items}
    closing = [
        ItemView(candidate=c, reasons=[], section="closing_soon")
        for c in prepare(inputs.reminders.get(group.subscriber.id, []))
        if c.id not in shown
    ]
    if not items and not closing:
        return None
    # A language bulletins are not written in (an old row, a hand edit) gets the first, the default.
    lang = group.subscriber.language if group.subscriber.language in LANGUAGES else LANGUAGES[0]
    return BulletinView(
        subscriber_email=group.subscriber.email,
        language=lang,
        frequency=group.frequency,
        period_start=group.period_start,
        period_end=group.period_end,
        items=items,
        closing_soon=closing,
        subscription_summaries=[subscription_summary(s, lang) for s in group.subscriptions],
        manage_url=manage_url(settings, group.subscriber),
        unsubscribe_url=unsubscribe_url(settings, group.subscriber),
        left_out=left_out,
    )


def _existing_bulletins(session: Session, groups: Sequence[_Group]) -> set[tuple[int, dt.datetime, dt.datetime]]:
    ends = sorted({g.period_end for g in groups})
    rows = session.execute(
        select(Bulletin.subscriber_id, Bulletin.period_start, Bulletin.period_end).where(Bulletin.period_end.in_(ends))
    ).all()
    return {(sid, start, end) for sid, start, end in rows}


def _write(
    session: Session,
    settings: Settings,
    renderer: Renderer,
    pending: Sequence[_Pending],
    done_subs: list[dict[str, object]],
    outcome: ComposeOutcome,
) -> None:
    """Render and store one batch of bulletins with their items and deliveries, in one transaction."""
    if pending:
        rendered = [renderer.render_bulletin(view) for _, view in pending]
        ids = _insert_bulletins(session, pending, rendered)
        subjects = [subject for subject, _, _ in rendered]
        outcome.items += _insert_items(session, ids, pending)
        outcome.deliveries += _insert_deliveries(session, settings, ids, pending, subjects)
        outcome.bulletins += len(ids)
        outcome.bulletin_ids.extend(ids)
    if done_subs:
        session.execute(update(Subscription), done_subs)
    session.commit()


def _insert_bulletins(
    session: Session, pending: Sequence[_Pending], rendered: Sequence[tuple[str, str, str]]
) -> list[int]:
    """The new bulletins' ids, in the order of ``pending``."""
    rows = [
        {
            "subscriber_id": group.subscriber.id,
            "period_start": group.period_start,
            "period_end": group.period_end,
            "frequency": group.frequency,
            "language": view.language,
            "subject": subject,
            "html": html,
            "text": text,
            "created_at": dt.datetime.now(dt.UTC),
            "indexed_at": None,
        }
        for (group, view), (subject, html, text) in zip(pending, rendered, strict=True)
    ]
    return list(session.scalars(insert(Bulletin).returning(Bulletin.id, sort_by_parameter_order=True), rows))


def _insert_items(session: Session, bulletin_ids: Sequence[int], pending: Sequence[_Pending]) -> int:
    """Store which measures each bulletin lists (each once, other sources' records included); how many rows."""
    rows: list[dict[str, object]] = []
    for bulletin_id, (_, view) in zip(bulletin_ids, pending, strict=True):
        seen: set[str] = set()
        for item in _flatten([*view.items, *view.closing_soon]):
            for c in [item.candidate, *item.also_seen, *item.similar]:
                if c.id not in seen:
                    seen.add(c.id)
                    rows.append({"bulletin_id": bulletin_id, "measure_id": c.id, "section": item.section,
                                 "reasons": item.reasons})  # fmt: skip
    if rows:
        session.execute(insert(BulletinItem), rows)
    return len(rows)


def _insert_deliveries(
    session: Session,
    settings: Settings,
    bulletin_ids: Sequence[int],
    pending: Sequence[_Pending],
    subjects: Sequence[str],
) -> int:
    """Queue each bulletin for its subscriber in the outbox; how many rows."""
    rows = [
        {
            "bulletin_id": bulletin_id,
            "subscriber_id": group.subscriber.id,
            "recipient": group.subscriber.email,
            "purpose": "bulletin",
            "subject": subject,
            "status": "pending",
            "attempts": 0,
            "message_id": new_message_id(settings),
            "created_at": dt.datetime.now(dt.UTC),
        }
        for bulletin_id, (group, _), subject in zip(bulletin_ids, pending, subjects, strict=True)
    ]
    session.execute(insert(Delivery), rows)
    return len(rows)


def _flatten(items: Iterable[ItemView]) -> Iterable[ItemView]:
    for item in items:
        yield item
        yield from _flatten(item.follow_ups)
