"""Re-tagging without downtime (issue 26): a new classifier version tags beside the served one, readers
keep the served version until the switch, and bulletins never mail an item twice because its tags
changed version, unless the switch added a sector the subscriber follows (then once more, marked).

The measures are CONSTRUCTED for this test (not source records; ``extra.constructed`` says so), and
so is the classifier: a keyword table whose version the test sets, so what v1 and v2 say is known.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, select

from alerts.compose import compose_bulletins
from alerts.delivery import send_pending
from alerts.subscriptions import add_subscriber, add_subscription, criteria
from classifiers.classifier import Reading, SectorPrediction
from classifiers.labels import sector_label
from classifiers.tagging import tag_pending
from classifiers.versions import active_version, building_version, pending_for, promote, prune, served
from schema.engine import make_engine, session_scope
from schema.ids import measure_id
from schema.models import Bulletin, BulletinItem, Measure, SectorTag, Source, Subscriber
from schema.upsert import store_measures
from search.lifecycle import rebuild_index, update_index
from search.names import alias
from search.query import SearchRequest, search_measures
from tbt_alert.settings import Settings

# Keys chosen so that, in id order (the order tagging takes), the two measures v2 reads differently
# come first: "tag half" then means exactly those two.
TOY_PHTHALATES, TABLEWARE, SCOOTER, KETTLE = "RETAG-E", "RETAG-3", "RETAG-B", "RETAG-C"
TITLES = {
    TOY_PHTHALATES: "Toys: limits of phthalates in plasticised toy materials",
    TABLEWARE: "Plastic tableware: migration limits for food contact",
    SCOOTER: "Toy scooters: safety requirements",
    KETTLE: "Electric kettles: protection against overheating",
}


class KeywordClassifier:
    """A deterministic stand-in for the model: sector per keyword of the title, version set by the test.

    v1 reads toys and appliances; v2 also reads chemicals (phthalates, plastic), so it adds
    chemicals_plastics to the toy measure and moves the tableware from appliances to chemicals."""

    mode = "rules"
    encoder_version = None

    def __init__(self, version: str, table: dict[str, str]):
        self.version = version
        self.table = table

    def embedding_texts(self, records: Sequence[dict[str, Any]]) -> list[str]:
        return [str(record["title"]) for record in records]

    def read(self, records: Sequence[dict[str, Any]], *, vectors: Any = None, texts: Any = None) -> list[Reading]:
        readings = []
        for record in records:
            title = str(record["title"]).lower()
            sectors = sorted({sector for word, sector in self.table.items() if word in title})
            predictions = [SectorPrediction(s, 0.9, "rule", {"keyword": self.version}) for s in sectors]
            readings.append(Reading(predictions, []))
        return readings


V1 = KeywordClassifier(
    "test-v1", {"toy": "toys", "kettle": "household_appliances", "tableware": "household_appliances"}
)
V2 = KeywordClassifier(
    "test-v2",
    {
        "toy": "toys",
        "kettle": "household_appliances",
        "phthalate": "chemicals_plastics",
        "plastic": "chemicals_plastics",
    },
)


def _seed(engine: Engine, keys: Sequence[str], seen_at: dt.datetime) -> dict[str, str]:
    records = [
        {
            "source_id": "wto_eping",
            "source_key": key,
            "kind": "tbt_notification",
            "country": "USA",
            "language": "en",
            "title": TITLES.get(key, f"Toy kites: {key}"),
            "published_on": seen_at.date(),
            "extra": {"constructed": True, "why": "made up for the re-tag test"},
        }
        for key in keys
    ]
    with session_scope(engine) as session:
        if session.get(Source, "wto_eping") is None:
            session.add(Source(id="wto_eping", name="WTO ePing", kind="notification", jurisdiction="WTO"))
            session.flush()
        store_measures(session, records, seen_at=seen_at)
    return {key: measure_id("wto_eping", key) for key in keys}


def _served_sectors(engine: Engine) -> dict[str, set[str]]:
    with session_scope(engine) as session:
        rows = session.execute(select(SectorTag.measure_id, SectorTag.sector).where(served(SectorTag))).all()
    found: dict[str, set[str]] = {}
    for mid, sector in rows:
        found.setdefault(mid, set()).add(sector)
    return found


# ------------------------------------------------------------------ storage (SQLite and PostgreSQL)


def test_a_new_version_tags_beside_the_served_one_until_the_switch(engine: Engine) -> None:
    ids = _seed(engine, [TOY_PHTHALATES, TABLEWARE, SCOOTER, KETTLE], dt.datetime.now(dt.UTC))
    first = tag_pending(engine, V1)  # type: ignore[arg-type]
    assert first.measures_tagged == 4
    with session_scope(engine) as session:  # an empty database activates its first version directly
        assert (active_version(session), building_version(session)) == (V1.version, None)
    v1_sectors = _served_sectors(engine)
    assert v1_sectors[ids[TABLEWARE]] == {"household_appliances"}

    half = tag_pending(engine, V2, limit=2)  # type: ignore[arg-type]
    assert (half.measures_tagged, half.remaining) == (2, 2)
    again = tag_pending(engine, V2, limit=1)  # a worker redoing a partition: replaces its own rows only
    assert again.measures_tagged == 1
    with session_scope(engine) as session:
        assert (active_version(session), building_version(session)) == (V1.version, V2.version)
        assert pending_for(session, V2.version) == 1
        versions = Counter(session.scalars(select(SectorTag.classifier_version)))
    assert _served_sectors(engine) == v1_sectors  # readers see v1 only, though v2 rows are there
    assert versions[V2.version] == 4  # toy+phthalates: 2, tableware: 1, scooter: 1

    # New content during the re-tag is served the new version at once (its text has no v1 tags).
    late = _seed(engine, ["RETAG-LATE"], dt.datetime.now(dt.UTC))["RETAG-LATE"]
    tag_pending(engine, V2)  # type: ignore[arg-type]
    served_now = _served_sectors(engine)
    assert served_now[late] == {"toys"}
    assert {k: v for k, v in served_now.items() if k != late} == v1_sectors

    with session_scope(engine) as session:
        assert pending_for(session, V2.version) == 0
        moved = promote(session, V2.version)
        assert moved == 4
        pruned = prune(session)
        assert pruned == (4, 0)  # v1's four rows; the late measure never had any
    after = _served_sectors(engine)
    assert after[ids[TOY_PHTHALATES]] == {"toys", "chemicals_plastics"}
    assert after[ids[TABLEWARE]] == {"chemicals_plastics"}
    with session_scope(engine) as session:
        assert set(session.scalars(select(SectorTag.classifier_version))) == {V2.version}
        assert {m.served_version for m in session.scalars(select(Measure))} == {V2.version}
        assert active_version(session) == V2.version
        added = {
            (t.measure_id, t.sector) for t in session.scalars(select(SectorTag).where(SectorTag.added_at.is_not(None)))
        }
    # Only sectors v1 lacked are marked added: the toy measure's chemicals, the tableware's chemicals.
    assert added == {(ids[TOY_PHTHALATES], "chemicals_plastics"), (ids[TABLEWARE], "chemicals_plastics")}


# ------------------------------------------------------------------ search and bulletins, real services


def _subscribe(engine: Engine, email: str, sectors: str) -> int:
    with session_scope(engine) as session:
        subscriber = add_subscriber(session, email=email, language="zh", confirmed=True)
        add_subscription(session, subscriber, criteria(sectors=sectors, frequency="daily"))
        session.flush()
        return subscriber.id


def _sectors_found(es: Any, settings: Settings, sector: str) -> set[str]:
    return {h.id for h in search_measures(es, settings, SearchRequest(sectors=[sector], size=50)).hits}


def _mailed(engine: Engine) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(recipient, measure id, reasons) of every item of every bulletin, in bulletin order."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Subscriber.email, BulletinItem.measure_id, BulletinItem.reasons)
            .join(Bulletin, Bulletin.id == BulletinItem.bulletin_id)
            .join(Subscriber, Subscriber.id == Bulletin.subscriber_id)
            .where(BulletinItem.section != "closing_soon")
            .order_by(Bulletin.id, BulletinItem.id)
        ).all()
    return [(email, mid, list(reasons)) for email, mid, reasons in rows]


def test_search_and_bulletins_answer_from_the_old_version_until_the_switch(
    make_settings: Callable[..., Settings], postgres_url: str, index_prefix: str, smtp_sink: Any, es: Any
) -> None:
    settings = make_settings(
        TBT_DATABASE_URL=postgres_url,
        TBT_INDEX_PREFIX=index_prefix,
        TBT_SMTP_PORT=str(smtp_sink.port),
        TBT_SMTP_RATE="1000",
        TBT_PORTAL_BASE_URL="https://tbt.example.org",
    )
    engine = make_engine(postgres_url)
    try:
        _run_retag(settings, engine, smtp_sink, es)
    finally:
        engine.dispose()


def _run_retag(settings: Settings, engine: Engine, smtp_sink: Any, es: Any) -> None:
    today = dt.datetime.now(dt.UTC)
    midnight = today.replace(hour=0, minute=0, second=0, microsecond=0)
    day_after = midnight + dt.timedelta(days=1, minutes=5)  # daily bulletins of today
    ids = _seed(engine, [TOY_PHTHALATES, TABLEWARE, SCOOTER, KETTLE], today)

    # v1: tag, index, mail the toys-and-chemicals subscriber.
    tag_pending(engine, V1)  # type: ignore[arg-type]
    rebuild_index(settings)
    _subscribe(engine, "buyer@example.com", "toys;chemicals_plastics")
    assert compose_bulletins(settings, now=day_after).bulletins == 1
    send_pending(settings, now=day_after)
    assert {mid for _, mid, _ in _mailed(engine)} == {ids[TOY_PHTHALATES], ids[SCOOTER]}

    # v2 starts and tags half: exactly the two measures it reads differently.
    assert tag_pending(engine, V2, limit=2).remaining == 2  # type: ignore[arg-type]
    assert update_index(settings).rebuilt is None  # not complete: no switch, an ordinary update
    assert _sectors_found(es, settings, "chemicals_plastics") == set()  # v2's sector is not searchable yet
    assert _sectors_found(es, settings, "household_appliances") == {ids[TABLEWARE], ids[KETTLE]}
    doc = es.get(index=alias(settings, "measures"), id=ids[TOY_PHTHALATES])["_source"]
    assert (doc["sector_codes"], doc["tagged_version"]) == (["toys"], V1.version)
    # A chemicals subscriber joining now gets today's bulletin from v1: nothing of chemicals.
    _subscribe(engine, "chemist@example.com", "chemicals_plastics")
    composed = compose_bulletins(settings, now=day_after)
    assert (composed.bulletins, composed.empty) == (0, 1)

    # v2 finishes; the pipeline's index stage switches (rebuild from v2, swap, promote), tomorrow noon.
    switch_at = midnight + dt.timedelta(days=1, hours=12)
    tag_pending(engine, V2)  # type: ignore[arg-type]
    updated = update_index(settings, now=switch_at)
    assert updated.rebuilt is not None
    assert updated.rebuilt.switched_to == V2.version
    assert updated.rebuilt.pruned == (4, 0)
    with session_scope(engine) as session:
        assert (active_version(session), building_version(session)) == (V2.version, None)
    assert _sectors_found(es, settings, "chemicals_plastics") == {ids[TOY_PHTHALATES], ids[TABLEWARE]}
    assert _sectors_found(es, settings, "household_appliances") == {ids[KETTLE]}
    doc = es.get(index=alias(settings, "measures"), id=ids[TOY_PHTHALATES])["_source"]
    assert (doc["sector_codes"], doc["tagged_version"]) == (["chemicals_plastics", "toys"], V2.version)

    # Tomorrow's bulletins: the switch is news only where it added a sector someone follows.
    next_day = midnight + dt.timedelta(days=2, minutes=5)
    compose_bulletins(settings, now=next_day)
    send_pending(settings, now=next_day)
    compose_bulletins(settings, now=next_day + dt.timedelta(days=1))  # and nothing the day after
    send_pending(settings, now=next_day + dt.timedelta(days=1))
    mailed = _mailed(engine)
    marked = [(email, mid) for email, mid, reasons in mailed if any(r.get("added") for r in reasons)]
    assert marked == [("buyer@example.com", ids[TOY_PHTHALATES])]  # one marked item: chemicals added
    repeats = Counter((email, mid) for email, mid, _ in mailed)
    assert {pair for pair, n in repeats.items() if n > 1} == set(marked)  # no other item twice
    assert repeats[("buyer@example.com", ids[TOY_PHTHALATES])] == 2
    assert repeats[("buyer@example.com", ids[SCOOTER])] == 1  # re-tagged, same sector: not mailed again
    # New to the chemist: both chemicals measures, now that v2 is served (never mailed before).
    assert {mid for email, mid, _ in mailed if email == "chemist@example.com"} == {ids[TOY_PHTHALATES], ids[TABLEWARE]}
    # The buyer never had the tableware (v1 said appliances): it is new to them, not marked.
    assert ("buyer@example.com", ids[TABLEWARE]) in repeats

    _check_marked_mail(smtp_sink)


def _check_marked_mail(smtp_sink: Any) -> None:
    """The buyer's second mail marks the item 新增行业 once, in both parts; the first marks nothing."""
    messages = [m for m in smtp_sink.messages() if m["To"] == "buyer@example.com"]
    assert len(messages) == 2
    label = f"新增行业：{sector_label('chemicals_plastics', 'zh')}"
    text = messages[-1].get_body(preferencelist=("plain",))
    html = messages[-1].get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().count(label) == 1
    assert html.get_content().count(label) == 1
    first = messages[0].get_body(preferencelist=("plain",))
    assert first is not None
    assert "新增行业" not in first.get_content()


def test_classify_retag_tags_beside_then_switches(
    make_settings: Callable[..., Settings],
    index_prefix: str,
    es: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline.cli import main

    settings = make_settings(TBT_INDEX_PREFIX=index_prefix)  # SQLite in the data dir
    for name, value in (
        ("TBT_DATA_DIR", str(settings.data_dir)),
        ("TBT_SECRET_KEY", "x" * 40),
        ("TBT_INDEX_PREFIX", index_prefix),
    ):
        monkeypatch.setenv(name, value)
    engine = make_engine(settings.database_url)
    try:
        ids = _seed(engine, [TOY_PHTHALATES, KETTLE], dt.datetime.now(dt.UTC))
        tag_pending(engine, V1)  # type: ignore[arg-type]
        rebuild_index(settings)
        assert main(["classify", "--retag", "--rules-only"]) == 0
        out = capsys.readouterr().out
        with session_scope(engine) as session:
            active = active_version(session)
            assert building_version(session) is None
            assert set(session.scalars(select(SectorTag.classifier_version))) == {active}
    finally:
        engine.dispose()
    assert active is not None
    assert active.endswith("-rules")  # the rules classifier's version, switched to
    assert f"switched to classifier {active}" in out
    doc = es.get(index=alias(settings, "measures"), id=ids[KETTLE])["_source"]
    assert doc["tagged_version"] == active


def test_a_failed_switch_leaves_the_old_version_active_and_live(
    make_settings: Callable[..., Settings], index_prefix: str, es: Any
) -> None:
    settings = make_settings(TBT_INDEX_PREFIX=index_prefix)  # SQLite in the data dir
    engine = make_engine(settings.database_url)
    try:
        ids = _seed(engine, [TOY_PHTHALATES, TABLEWARE, KETTLE], dt.datetime.now(dt.UTC))
        tag_pending(engine, V1)  # type: ignore[arg-type]
        live = rebuild_index(settings)
        tag_pending(engine, V2)  # type: ignore[arg-type]

        def crash(kind: str, done: int) -> None:
            raise RuntimeError("killed halfway through the rebuild")

        with pytest.raises(RuntimeError):
            rebuild_index(settings, progress=crash, batch_size=1, switch_to=V2.version)
        with session_scope(engine) as session:
            assert (active_version(session), building_version(session)) == (V1.version, V2.version)
        assert _served_sectors(engine)[ids[TABLEWARE]] == {"household_appliances"}
        assert es.indices.get_alias(name=alias(settings, "measures")).body.keys() == {live.measures_index}
        assert _sectors_found(es, settings, "household_appliances") == {ids[TABLEWARE], ids[KETTLE]}
        # The next index update switches (the v2 rows were kept for it).
        assert update_index(settings).rebuilt is not None
        assert _sectors_found(es, settings, "chemicals_plastics") == {ids[TOY_PHTHALATES], ids[TABLEWARE]}
    finally:
        engine.dispose()
