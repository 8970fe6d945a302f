"""Subscriptions, CSV import, tokens, the glossary and the gist; and the staff commands end to end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from alerts.gist import gist_zh
from alerts.glossary import load_glossary
from alerts.lifecycle import confirm, revoke_links
from alerts.subscriptions import criteria, import_csv
from alerts.tokens import make_token, verify_token
from pipeline.cli import main
from schema.engine import make_engine, session_factory
from schema.models import Delivery, Subscriber
from tbt_alert.errors import InvalidSubscription, TokenError
from tbt_alert.settings import Settings
from tests.alerts.conftest import real_records


def test_criteria_resolve_names_groups_and_reject_bad_values() -> None:
    what = criteria(countries="Russian Federation; bri; EU; 中国", kinds="tbt;recall", hs_prefixes="95.03; 6402")
    assert what.countries == ("RUS", "CHN")
    assert what.country_groups == ("bri", "eu")
    assert what.kinds == ("tbt_notification", "recall")
    assert what.hs_prefixes == ("9503", "6402")
    with pytest.raises(InvalidSubscription, match="sector"):
        criteria(sectors="not_a_sector")
    with pytest.raises(InvalidSubscription, match="HS prefix"):
        criteria(hs_prefixes="95a")
    with pytest.raises(InvalidSubscription, match="country"):
        criteria(countries="Atlantis")
    with pytest.raises(InvalidSubscription, match="min relevance"):
        criteria(min_relevance=1.5)


def test_csv_import_keeps_good_rows_and_reports_bad_ones_by_line(sqlite_engine: Any, tmp_path: Path) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_text(
        "email,name,language,frequency,sectors,hs_prefixes,countries,keywords\n"
        "li@example.com,李,zh,daily,toys;textiles_apparel,9503,bri,\n"
        "not-an-email,x,zh,daily,toys,,,\n"
        "wang@example.com,王,en,weekly,,6402,EU,phthalate\n"
        "zhao@example.com,赵,zh,hourly,toys,,,\n"
        "li@example.com,李,zh,immediate,,,RUS,\n",
        encoding="utf-8",
    )
    with session_factory(sqlite_engine)() as session:
        outcome = import_csv(session, path)
        session.commit()
        assert (outcome.added, outcome.subscriptions) == (2, 3)
        assert [line for line, _ in outcome.errors] == [3, 5]
        assert "email" in outcome.errors[0][1]
        assert "frequency" in outcome.errors[1][1]
        emails = session.scalars(select(Subscriber.email).order_by(Subscriber.email)).all()
        assert emails == ["li@example.com", "wang@example.com"]


def test_tokens_are_signed_purpose_bound_expiring_and_revocable(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        subscriber = Subscriber(email="a@example.com", language="zh", token_generation=0)
        session.add(subscriber)
        session.commit()
        token = make_token(settings, subscriber, "unsubscribe")
        assert verify_token(settings, token, "unsubscribe", session=session) == subscriber.id
        with pytest.raises(TokenError, match="not valid"):
            verify_token(settings, token, "manage", session=session)
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        with pytest.raises(TokenError, match="not valid"):
            verify_token(settings, tampered, "unsubscribe", session=session)
        with pytest.raises(TokenError, match="expired"):
            verify_token(settings, token, "unsubscribe", session=session, max_age=-1)
        other = make_settings(TBT_SECRET_KEY="another-secret-key-of-sufficient-length-0123")
        with pytest.raises(TokenError):
            verify_token(other, token, "unsubscribe", session=session)
        revoke_links(session, subscriber)
        session.commit()
        with pytest.raises(TokenError, match="withdrawn"):
            verify_token(settings, token, "unsubscribe", session=session)
    engine.dispose()


def test_glossary_entries_have_sources_and_find_terms_in_six_languages() -> None:
    glossary = load_glossary()
    assert len(glossary.terms) >= 100
    assert all(t.source in glossary.sources for t in glossary.terms)
    phthalates = glossary.term("phthalates")
    for text in (
        "bis(2-ethylhexyl) phthalate",
        "teneur en phtalates",
        "ftalatos",
        "содержание фталатов",
        "الفثالات",
        "邻苯二甲酸酯",
    ):
        assert phthalates in glossary.find(text), text
    assert glossary.term("lead") not in glossary.find("a leading supplier")


def test_gist_of_real_records_states_fields_and_never_translates() -> None:
    records = {r["source_key"]: r for r in real_records()}
    from types import SimpleNamespace

    def measure(key: str) -> Any:
        rec = dict.fromkeys(
            (
                "relation",
                "title_en",
                "products",
                "product_type",
                "category",
                "hazard",
                "risk_type",
                "risk_level",
                "country_of_origin",
                "distributed_on",
                "published_on",
                "comment_deadline",
                "entry_into_force",
                "language",
            )
        )
        rec.update(records[key])
        return SimpleNamespace(**rec)

    tag = SimpleNamespace(sector="chemicals_plastics", score=0.6)
    rope = gist_zh(measure("SR/04442/25"), [tag], today=dt.date(2026, 1, 5))
    assert rope.startswith("芬兰 · ")
    assert "召回" in rope
    assert "邻苯二甲酸酯" in rope
    assert "原产地：中国" in rope
    gcc = gist_zh(measure("113917"), [], today=dt.date(2026, 7, 20))
    assert gcc.startswith("巴林 · ")
    assert "技术法规" in gcc
    assert "评议截止 2026-08-01（剩 12 天）" in gcc
    assert "eCall" in gcc


def test_staff_commands_end_to_end(
    make_settings: Callable[..., Settings],
    smtp_sink: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    tmp_path: Path,
) -> None:
    settings = make_settings(TBT_SMTP_PORT=str(smtp_sink.port))
    for key, value in settings.extra.items():
        monkeypatch.setenv(key, value)
    assert main(["subscribers", "add", "new@example.com", "--sectors", "toys", "--countries", "bri"]) == 0
    assert main(["subscribers", "add", "bad@example.com", "--sectors", "nope"]) == 1
    csv_path = tmp_path / "import.csv"
    csv_path.write_text("email,sectors\nok@example.com,toys\nbroken,toys\n", encoding="utf-8")
    assert main(["subscribers", "import", str(csv_path), "--confirmed"]) == 1
    assert main(["subscribers", "list"]) == 0
    out = capsys.readouterr().out
    assert "new@example.com\tzh\tunconfirmed" in out
    assert "ok@example.com\tzh\tconfirmed" in out
    assert ":3: email" in out
    assert main(["bulletins", "send"]) == 0
    [mail] = smtp_sink.messages()
    assert mail["To"] == "new@example.com"
    assert "请确认订阅" in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    link = next(w for w in body.get_content().split() if "/subscriptions/confirm?token=" in w)
    token = parse_qs(urlparse(link).query)["token"][0]
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        subscriber = confirm(session, settings, token)
        session.commit()
        assert subscriber.confirmed
        assert session.scalars(select(Delivery.status)).all() == ["sent"]
    engine.dispose()
    assert main(["subscribers", "change", "1", "--frequency", "weekly"]) == 0
    assert main(["bulletins", "compose", "--now", "2026-07-20T00:05Z"]) == 0
    assert main(["bulletins", "status"]) == 0
    out = capsys.readouterr().out
    assert "sent       1" in out
    assert main(["subscribers", "remove", "new@example.com"]) == 0
