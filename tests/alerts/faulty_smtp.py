"""A small SMTP server on loopback that misbehaves on purpose (for the delivery fault tests).

It speaks just enough SMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and fails
in one scripted way: a 421 greeting, a 4xx/5xx at RCPT or after DATA, or dropping the connection
in the middle of DATA. Messages it accepts with 250 are kept in ``accepted``.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from typing import Any

MODES = ("ok", "greet421", "rcpt450", "data550", "data421", "drop_in_data")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        mode = self.server.mode
        self.server.connections += 1
        if mode == "greet421":
            self.send("421 4.3.2 Service not available, closing channel")
            return
        self.send("220 faulty.test ESMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.send("250 faulty.test")
            elif command.startswith("MAIL"):
                self.send("250 2.1.0 OK")
            elif command.startswith("RCPT"):
                if mode == "rcpt450":
                    self.send("450 4.2.0 Greylisted, try again later")
                else:
                    self.send("250 2.1.5 OK")
            elif command == "DATA":
                self.send("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    if mode == "drop_in_data" and len(lines) >= 3:
                        # Hang up mid-message: nothing is accepted, no reply is sent.
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if line in (b".\r\n", b".\n"):
                        break
                    lines.append(line)
                if mode == "data550":
                    self.send("550 5.7.1 Message rejected as spam")
                elif mode == "data421":
                    self.send("421 4.4.2 Timeout, closing")
                    return
                else:
                    self.server.accepted.append(b"".join(lines))
                    self.send("250 2.0.0 Queued")
            elif command == "RSET" or command == "NOOP":
                self.send("250 OK")
            elif command == "QUIT":
                self.send("221 Bye")
                return
            else:
                self.send("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mode: str
    accepted: list[bytes]
    connections: int


class FaultySmtp:
    """``with FaultySmtp("rcpt450") as server: ... server.port ... server.accepted``"""

    def __init__(self, mode: str):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.mode = mode
        self._server.accepted = []
        self._server.connections = 0
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def accepted(self) -> list[bytes]:
        return self._server.accepted

    @property
    def connections(self) -> int:
        return self._server.connections

    def __enter__(self) -> FaultySmtp:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
