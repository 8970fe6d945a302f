"""Suggested HS codes in subscriptions and bulletins: an HS subscriber gets a recall that lists no
code through a suggestion above the threshold, the mail says it is a suggestion (推测), and a
measure with source codes is matched by those alone."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.compose import compose_bulletins, suggestion_min_score
from alerts.delivery import send_pending
from alerts.matching import MeasurePool, prepare
from alerts.products import product_line
from alerts.render import reason_text
from classifiers.hs_catalogue import hs_name
from schema.ids import measure_id
from schema.models import Bulletin, BulletinItem, Measure, Subscription, SuggestedHsCode
from tbt_alert.settings import Settings
from tests.alerts.conftest import NOW, SEEN_AT, constructed, store, subscribe

KETTLE = hs_name("851671")
OVEN = hs_name("851660")
# Constructed measures (extra.constructed says so): source key -> (fields, suggestions (code, score) best first).
MEASURES: dict[str, tuple[dict[str, Any], list[tuple[str, float]]]] = {
    # A recall lists no HS code: its suggestion (0.83 >= 0.5) answers an HS 8516 subscription.
    "TEST-KETTLE-1": (
        {"source_id": "eu_safety_gate", "kind": "recall", "country": "DEU", "title": "Electric kettle (constructed)"},
        [("851671", 0.83), ("732393", 0.41)],
    ),
    # A suggestion below the threshold answers nothing.
    "TEST-HEATER-2": (
        {"source_id": "eu_safety_gate", "kind": "recall", "country": "FRA", "title": "Water heater (constructed)"},
        [("851610", 0.21)],
    ),
    # The source lists HS 9503: a suggestion under 8516, however sure, never answers for it.
    "TEST-TOYOVEN-3": (
        {"title": "Toy ovens for children (constructed)", "country": "KEN", "hs_codes": ["950300"]},
        [("851660", 0.97)],
    ),
    # The source lists HS 851660: matched by its own code, shown without 推测.
    "TEST-OVEN-4": (
        {"title": "Electric ovens: energy labelling (constructed)", "country": "KEN", "hs_codes": ["851660"]},
        [("851660", 0.9)],
    ),
}


def _store(session: Session) -> dict[str, str]:
    records = [
        constructed(key, **{**fields, "distributed_on": dt.date(2026, 7, 19)}, why="HS suggestion matching test")
        for key, (fields, _) in MEASURES.items()
    ]
    store(session, records)
    ids = {key: measure_id(MEASURES[key][0].get("source_id", "wto_eping"), key) for key in MEASURES}
    for key, (_, suggestions) in MEASURES.items():
        for rank, (code, score) in enumerate(suggestions, start=1):
            name = hs_name(code)
            assert name is not None
            session.add(
                SuggestedHsCode(
                    measure_id=ids[key], rank=rank, code=code, score=score, name_zh=name.name_zh,
                    name_en=name.name_en, classifier_version="test", created_at=SEEN_AT,
                )
            )  # fmt: skip
    session.commit()
    return ids


@pytest.fixture
def hs_settings(make_settings: Any, db_url: str, smtp_sink: Any) -> Settings:
    settings: Settings = make_settings(
        TBT_DATABASE_URL=db_url,
        TBT_SMTP_PORT=str(smtp_sink.port),
        TBT_SMTP_RATE="1000",
        TBT_PORTAL_BASE_URL="https://tbt.example.org",
        TBT_HS_SUGGESTION_MIN_SCORE="0.5",
    )
    return settings


def _body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content())


def test_an_hs_subscriber_gets_a_recall_by_its_suggested_code(
    db_session: Session, hs_settings: Settings, smtp_sink: Any
) -> None:
    assert KETTLE is not None
    assert OVEN is not None
    ids = _store(db_session)
    subscribe(db_session, "kettles@example.com", hs_prefixes="8516")
    assert compose_bulletins(hs_settings, now=NOW).bulletins == 1
    assert send_pending(hs_settings, now=NOW).sent == 1

    bulletin = db_session.scalars(select(Bulletin)).one()
    items = {
        i.measure_id: i for i in db_session.scalars(select(BulletinItem).where(BulletinItem.bulletin_id == bulletin.id))
    }
    # The kettle by its suggestion, the oven by its source code; not the heater (0.21), not the toy oven (HS 9503).
    assert set(items) == {ids["TEST-KETTLE-1"], ids["TEST-OVEN-4"]}
    assert items[ids["TEST-KETTLE-1"]].reasons == [
        {"type": "hs", "prefix": "8516", "code": "851671", "suggested": True, "score": 0.83}
    ]
    assert items[ids["TEST-OVEN-4"]].reasons == [{"type": "hs", "prefix": "8516", "code": "851660"}]

    [msg] = smtp_sink.messages()
    assert msg["To"] == "kettles@example.com"
    for body in (_body(msg, "plain"), _body(msg, "html")):
        assert "本措施推测为 HS 8516.71" in body  # the reason says the code is a suggestion
        assert f"中文品名（推测）：{KETTLE.name_zh} · HS 8516.71" in body
        assert f"中文品名：{OVEN.name_zh} · HS 8516.60" in body  # a source's code: no 推测
        assert "您订阅了HS 8516（本措施 HS 8516.60）" in body
        assert "Water heater" not in body
        assert "Toy ovens" not in body
        assert KETTLE.name_en not in body  # a Chinese mail names the product in Chinese only
        assert "suggested" not in body


def test_an_english_bulletin_says_suggested(db_session: Session, hs_settings: Settings, smtp_sink: Any) -> None:
    assert KETTLE is not None
    _store(db_session)
    subscribe(db_session, "buyer@example.com", language="en", hs_prefixes="851671")
    assert compose_bulletins(hs_settings, now=NOW).bulletins == 1
    send_pending(hs_settings, now=NOW)
    [msg] = smtp_sink.messages()
    text = _body(msg, "plain")
    assert "this measure is probably HS 8516.71" in text
    assert f"Product (suggested): {KETTLE.name_en} · HS 8516.71" in text
    assert "推测" not in text


def test_a_suggestion_below_the_threshold_matches_nothing(db_session: Session, hs_settings: Settings) -> None:
    _store(db_session)
    subscribe(db_session, "heaters@example.com", hs_prefixes="851610")  # only the heater's 0.21 suggestion
    outcome = compose_bulletins(hs_settings, now=NOW)
    assert outcome.bulletins == 0
    assert outcome.empty == 1


def test_a_source_code_is_matched_by_itself_only(db_session: Session, hs_settings: Settings) -> None:
    ids = _store(db_session)
    subscribe(db_session, "toys@example.com", hs_prefixes="9503")
    subscribe(db_session, "ovens@example.com", hs_prefixes="851660")
    assert compose_bulletins(hs_settings, now=NOW).bulletins == 2
    assert _items_of(db_session, "toys@example.com") == {ids["TEST-TOYOVEN-3"]}  # by its source code 950300
    # The toy oven's 0.97 suggestion of 851660 is no code of that measure: only the real oven matches.
    assert _items_of(db_session, "ovens@example.com") == {ids["TEST-OVEN-4"]}


def _items_of(session: Session, email: str) -> set[str]:
    from schema.models import Subscriber

    subscriber_id = session.scalars(select(Subscriber.id).where(Subscriber.email == email)).one()
    bulletin = session.scalars(select(Bulletin).where(Bulletin.subscriber_id == subscriber_id)).one()
    return {i.measure_id for i in bulletin.items}


# ------------------------------------------------------------------ pure logic (no services)


def _measure(key: str, hs_codes: list[str], suggestions: list[tuple[str, float]], **fields: Any) -> Measure:
    """A transient measure (constructed) with its suggestions, as compose loads them."""
    measure = Measure(
        id=key, source_id="eu_safety_gate", source_key=key, kind="recall", title=key, hs_codes=hs_codes,
        keywords=[], extra={"constructed": True}, **fields,
    )  # fmt: skip
    measure.sector_tags = []
    measure.hs_suggestions = [
        SuggestedHsCode(rank=r, code=c, score=s, name_zh=f"品名{c}", name_en=f"name {c}", classifier_version="t")
        for r, (c, s) in enumerate(suggestions, start=1)
    ]
    return measure


def _subscription(*prefixes: str) -> Subscription:
    return Subscription(hs_prefixes=list(prefixes), sectors=[], keywords=[], countries=[], country_groups=[], kinds=[])


def test_the_pool_files_suggestions_above_the_threshold_of_measures_without_codes() -> None:
    kettle = _measure("kettle", [], [("851671", 0.83), ("851640", 0.6)])
    listed = _measure("listed", ["950300"], [("851671", 0.99)])
    weak = _measure("weak", [], [("851671", 0.3)])
    candidates = prepare([kettle, listed, weak])
    pool = MeasurePool(candidates, hs_min_score=0.5)
    found = {candidates[i].id: reasons for i, reasons in pool.match(_subscription("8516")).items()}
    # The best suggestion under the prefix gives the reason; one reason per measure and prefix.
    assert found == {"kettle": [{"type": "hs", "prefix": "8516", "code": "851671", "suggested": True, "score": 0.83}]}
    # A national line (8 digits) under a suggested subheading matches it, as a source's HS-6 code would.
    assert set(pool.match(_subscription("85167100"))) == {0}
    assert pool.match(_subscription("9503")) == {1: [{"type": "hs", "prefix": "9503", "code": "950300"}]}
    # Without a threshold (no candidate could use one) no suggestion is filed.
    assert MeasurePool(candidates).match(_subscription("8516")) == {}


def test_a_follow_up_borrows_its_parents_suggestions_only_without_codes_and_suggestions() -> None:
    parent = _measure("parent", [], [("851671", 0.83)])
    bare = _measure("bare", [], [], parent_id="parent")
    own = _measure("own", [], [("732393", 0.7)], parent_id="parent")
    listed_parent = _measure("listed-parent", ["850940"], [("851671", 0.9)])
    child = _measure("child", [], [], parent_id="listed-parent")
    candidates = prepare([bare, own, child], {"parent": parent, "listed-parent": listed_parent})
    by_id = {c.id: c for c in candidates}
    assert [(s.code, s.inherited) for s in by_id["bare"].hs_suggested] == [("851671", True)]
    assert [(s.code, s.inherited) for s in by_id["own"].hs_suggested] == [("732393", False)]
    assert by_id["child"].hs_codes == ("850940",)  # the parent's source codes, which outrank suggestions
    pool = MeasurePool(candidates, hs_min_score=0.5)
    assert {candidates[i].id for i in pool.match(_subscription("8516"))} == {"bare"}


def test_the_product_line_prefers_the_source_and_marks_a_suggestion() -> None:
    assert KETTLE is not None
    assert OVEN is not None
    kettle = prepare([_measure("kettle", [], [("851671", 0.83)])])[0]
    line = product_line(kettle.hs_codes, kettle.hs_suggested, "zh")
    assert line is not None
    assert (line.name, line.code, line.suggested, line.score) == ("品名851671", "8516.71", True, 0.83)
    # Below the threshold a guess names nothing (the measure page still lists it with its score).
    assert product_line(kettle.hs_codes, kettle.hs_suggested, "zh", min_score=0.9) is None
    assert product_line(kettle.hs_codes, kettle.hs_suggested, "zh", min_score=0.83) is not None
    listed = prepare([_measure("listed", ["85166000", "9503"], [("851671", 0.99)])])[0]
    line = product_line(listed.hs_codes, listed.hs_suggested, "zh")
    assert line is not None
    assert (line.name, line.code, line.suggested) == (OVEN.name_zh, "8516.60", False)  # a national line's HS-6
    # Only a heading listed: a suggestion under it may name the product (as a suggestion); one outside may not.
    under = prepare([_measure("under", ["8516"], [("732393", 0.9), ("851671", 0.5)])])[0]
    line = product_line(under.hs_codes, under.hs_suggested, "en")
    assert line is not None
    assert (line.name, line.suggested) == ("name 851671", True)
    outside = prepare([_measure("outside", ["9503"], [("851671", 0.9)])])[0]
    assert product_line(outside.hs_codes, outside.hs_suggested, "zh") is None
    assert product_line((), (), "zh") is None


def test_reasons_read_suggested_in_each_language() -> None:
    reason = {"type": "hs", "prefix": "8516", "code": "851671", "suggested": True, "score": 0.83}
    assert reason_text(reason, "zh").startswith("HS 8516.71 (推测)")
    assert reason_text(reason, "en").startswith("HS 8516.71 (suggested)")
    assert "推测" not in reason_text({"type": "hs", "prefix": "8516", "code": "851671"}, "zh")


def test_the_threshold_is_read_only_when_a_suggestion_could_answer(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifiers.hs_threshold

    def calibrated(folder: Any = None) -> float:
        return 0.61

    monkeypatch.setattr(classifiers.hs_threshold, "match_threshold", calibrated)
    with_codes = prepare([_measure("listed", ["950300"], [("851671", 0.99)])])
    without = prepare([_measure("kettle", [], [("851671", 0.83)])])
    assert suggestion_min_score(make_settings(), with_codes) is None  # no trained HS index needed
    assert suggestion_min_score(make_settings(), without) == 0.61
    assert suggestion_min_score(make_settings(TBT_HS_SUGGESTION_MIN_SCORE="0.4"), without) == 0.4


def test_the_calibrated_threshold_is_the_default(
    db_session: Session, make_settings: Any, db_url: str, smtp_sink: Any
) -> None:
    from classifiers.hs_threshold import match_threshold

    calibrated = match_threshold()  # the committed HS index's (classifiers/head/hs_index.json)
    assert 0.21 < calibrated <= 0.83  # between the heater's and the kettle's scores, so the outcome is decided
    settings = make_settings(TBT_DATABASE_URL=db_url, TBT_SMTP_PORT=str(smtp_sink.port))
    assert settings.hs_suggestion_min_score is None
    ids = _store(db_session)
    subscribe(db_session, "kettles@example.com", hs_prefixes="8516")
    assert compose_bulletins(settings, now=NOW).bulletins == 1
    assert _items_of(db_session, "kettles@example.com") == {ids["TEST-KETTLE-1"], ids["TEST-OVEN-4"]}
