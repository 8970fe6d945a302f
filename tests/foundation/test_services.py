"""The real services answer: Elasticsearch (index round trip) and the SMTP sink (mail arrives)."""

import smtplib
from email.message import EmailMessage

from devtools.smtp_sink import SmtpSink
from tbt_alert.settings import Settings


def test_elasticsearch_creates_and_deletes_an_index_under_the_run_prefix(es, index_prefix: str) -> None:  # type: ignore[no-untyped-def]
    name = f"{index_prefix}-smoke"
    es.indices.create(index=name, mappings={"dynamic": "strict", "properties": {"title": {"type": "text"}}})
    es.index(index=name, id="1", document={"title": "阻燃 flame retardant"}, refresh=True)
    hits = es.search(index=name, query={"match_phrase": {"title": "阻燃"}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["1"]
    es.indices.delete(index=name)
    assert not es.indices.exists(index=name)


def test_mail_sent_through_the_project_settings_arrives_in_the_maildir(
    smtp_sink: SmtpSink,
    make_settings,  # type: ignore[no-untyped-def]
) -> None:
    settings: Settings = make_settings(TBT_SMTP_PORT=str(smtp_sink.port))
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = "exporter@example.com"
    message["Subject"] = "技术性贸易措施预警"
    message.set_content("俄罗斯 · 玩具 · 技术法规草案")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    received = smtp_sink.messages()
    assert len(received) == 1
    assert received[0]["Subject"] == "技术性贸易措施预警"
    assert received[0]["X-Envelope-To"] == "exporter@example.com"
    assert "俄罗斯" in received[0].get_content()
