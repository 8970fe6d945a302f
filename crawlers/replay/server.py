"""A loopback HTTP server that answers with recorded exchanges (see the package doc)."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

log = logging.getLogger(__name__)


@dataclass
class Exchange:
    url: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body_path: Path | None = None
    match: str = "exact"
    times: int | None = None
    delay: float = 0.0
    truncate: int | None = None
    served: int = 0

    def key(self) -> str:
        parts = urlsplit(self.url)
        if self.match == "path":
            return f"{parts.netloc}{parts.path or '/'}"
        return _canonical(f"{parts.netloc}{parts.path or '/'}", parts.query)

    def body(self) -> bytes:
        return self.body_path.read_bytes() if self.body_path else b""


def _canonical(host_path: str, query: str) -> str:
    # canonicalize_url sorts and re-escapes the query, so %5B and [ match.
    return canonicalize_url(f"http://{host_path}?{query}" if query else f"http://{host_path}")


def load_exchanges(folder: Path) -> tuple[list[Exchange], dict[str, str]]:
    """The exchanges and spider arguments recorded in ``folder/exchanges.json``."""
    path = folder / "exchanges.json"
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the replay exchanges ({exc}); fix or re-record it.") from None
    exchanges = []
    for number, entry in enumerate(spec.get("exchanges", [])):
        if "url" not in entry:
            raise ValueError(f"{path}: exchange {number} has no 'url'; add the URL the spider requests.")
        body = folder / entry["body"] if entry.get("body") else None
        if body is not None and not body.exists():
            raise ValueError(f"{path}: exchange {number} names {body.name}, which is missing; add the file.")
        headers = dict(entry.get("headers", {}))
        if body is not None and body.suffix == ".gz":
            headers.setdefault("Content-Encoding", "gzip")
        exchanges.append(
            Exchange(
                url=entry["url"],
                status=int(entry.get("status", 200)),
                headers=headers,
                body_path=body,
                match=entry.get("match", "exact"),
                times=entry.get("times"),
                delay=float(entry.get("delay", 0)),
                truncate=entry.get("truncate"),
            )
        )
    return exchanges, {str(k): str(v) for k, v in spec.get("spider_args", {}).items()}


class ReplayServer:
    """Serve recorded exchanges on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, exchanges: list[Exchange]):
        self.exchanges = exchanges
        self.requests: list[str] = []  # every path asked for, in order (for tests)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_folders(cls, folders: list[Path]) -> ReplayServer:
        exchanges: list[Exchange] = []
        for folder in folders:
            exchanges.extend(load_exchanges(folder)[0])
        return cls(exchanges)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def pick(self, raw_path: str) -> Exchange | None:
        """The exchange for a request path ``/<host>/<path>?<query>``, counting its use."""
        parts = urlsplit(raw_path)
        host_path = parts.path.lstrip("/")
        exact = _canonical(host_path, parts.query)
        with self._lock:
            self.requests.append(raw_path)
            for exchange in self.exchanges:
                if exchange.times is not None and exchange.served >= exchange.times:
                    continue
                if exchange.key() in (exact, host_path):
                    exchange.served += 1
                    return exchange
        return None

    def start(self) -> ReplayServer:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                exchange = replay.pick(self.path)
                if exchange is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not recorded\n")
                    return
                if exchange.delay:
                    time.sleep(exchange.delay)
                self._send(exchange.status, exchange.headers, exchange.body(), exchange.truncate)

            def _send(self, status: int, headers: dict[str, str], body: bytes, truncate: int | None = None) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    if truncate is not None:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body if truncate is None else body[:truncate])
                    self.wfile.flush()
                    if truncate is not None:
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("replay: " + format, *args)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="tbt-replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
