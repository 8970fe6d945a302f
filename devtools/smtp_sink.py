"""A real SMTP server on loopback that stores every message it receives in a maildir.

Used by `make run` (as a daemon: ``python -m devtools.smtp_sink``) and by tests (in
process, through :class:`SmtpSink`). It speaks real SMTP through aiosmtpd, so what it
receives is exactly what a relay would.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import signal
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devtools.processes import free_port


class MaildirHandler:
    """Stores each accepted message, with its envelope recipients, in a maildir."""

    def __init__(self, maildir: Path):
        self.maildir = maildir
        # mailbox only makes tmp/new/cur when it makes the folder itself; an existing empty folder needs them too.
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(str(maildir), create=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        header = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\nX-Envelope-From: {envelope.mail_from}\r\n"
        with self._lock:
            self._box.add(header.encode() + content)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An in-process SMTP server on a free loopback port (for tests)."""

    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 0):
        self.maildir = Path(maildir)
        self.host = host
        self.handler = MaildirHandler(self.maildir)
        self._controller = Controller(self.handler, hostname=host, port=port or free_port(host))
        self.port = self._controller.port

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        return read_maildir(self.maildir)


def read_maildir(maildir: Path) -> list[EmailMessage]:
    """Every message in ``maildir``, parsed with the modern email policy, oldest first."""
    if not (Path(maildir) / "new").is_dir():
        return []
    box = mailbox.Maildir(str(maildir), create=False)
    found = []
    for key in box.iterkeys():
        path = Path(maildir) / ("new" if (Path(maildir) / "new" / key).exists() else "cur") / key
        data = path.read_bytes() if path.exists() else box.get_bytes(key)
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        found.append((path.stat().st_mtime if path.exists() else 0.0, key, msg))
    return [m for _, _, m in sorted(found, key=lambda t: (t[0], t[1]))]


def main() -> None:
    parser = argparse.ArgumentParser(description="SMTP sink on loopback that stores mail in a maildir.")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()
    sink = SmtpSink(args.maildir, port=args.port).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink listening on 127.0.0.1:{sink.port}, storing in {args.maildir}", flush=True)
    stop.wait()
    sink.stop()


if __name__ == "__main__":
    main()
