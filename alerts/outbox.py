"""The outbox: every mail tbt-alert sends is first a :class:`schema.models.Delivery` row.

Bulletin deliveries point at their Bulletin (the MIME message is built from it when sent); other
mail (confirmation, operator alerts, reports with a PDF) stores its MIME body in the row. The
Message-ID is fixed here, before the first attempt, so every retry carries the same one.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path

from sqlalchemy.orm import Session

from schema.models import Delivery
from tbt_alert.settings import Settings

PURPOSES = ("bulletin", "confirm", "report", "operator")
DEFAULT_DOMAIN = "tbt-alert.localhost"


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"

    @classmethod
    def from_path(cls, path: Path) -> Attachment:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls(path.name, Path(path).read_bytes(), kind)


def mail_domain(settings: Settings | None) -> str:
    if settings is None:
        return DEFAULT_DOMAIN
    address = settings.mail_from.rsplit("<", 1)[-1].rstrip(">")
    return address.rsplit("@", 1)[-1] or DEFAULT_DOMAIN


def new_message_id(settings: Settings | None = None) -> str:
    return f"<{uuid.uuid4().hex}@{mail_domain(settings)}>"


def build_mime(
    *, recipient: str, subject: str, text: str, html: str | None = None, attachments: Iterable[Attachment | Path] = ()
) -> EmailMessage:
    """A MIME message without From/Message-ID/Date (the sender adds those from settings and the row)."""
    msg = EmailMessage(policy=SMTP)
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content(text, charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    for item in attachments:
        att = Attachment.from_path(item) if isinstance(item, Path) else item
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)
    return msg


def enqueue_mail(
    session: Session,
    *,
    recipient: str,
    subject: str,
    text: str,
    html: str | None = None,
    purpose: str,
    attachments: Iterable[Attachment | Path] = (),
    subscriber_id: int | None = None,
    settings: Settings | None = None,
) -> Delivery:
    """Queue one mail (any stage's: confirmation, operator alert, report); `bulletins send` delivers it."""
    if purpose not in PURPOSES:
        raise ValueError(f"mail purpose {purpose!r} is unknown; use one of {', '.join(PURPOSES)}")
    msg = build_mime(recipient=recipient, subject=subject, text=text, html=html, attachments=attachments)
    delivery = Delivery(
        recipient=recipient,
        subscriber_id=subscriber_id,
        purpose=purpose,
        subject=subject,
        body=msg.as_string(policy=SMTP),
        status="pending",
        attempts=0,
        message_id=new_message_id(settings),
    )
    session.add(delivery)
    session.flush()
    return delivery


def stamp(msg: EmailMessage, *, settings: Settings, message_id: str, date: float | None = None) -> EmailMessage:
    """Add From, Date and the fixed Message-ID."""
    for name in ("From", "Date", "Message-ID"):
        del msg[name]
    msg["From"] = settings.mail_from
    msg["Date"] = formatdate(date, localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    return msg
