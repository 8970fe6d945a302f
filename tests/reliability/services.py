"""Throwaway service instances for fault injection: our own Elasticsearch node and our own
PostgreSQL cluster, on their own loopback ports and data folders, which a test may kill,
restart or starve of disk without touching the shared services on 9200 and 5433.

They come from the same installations ``devtools.services`` uses (Elastic's test
distribution in the cache, Debian's PostgreSQL binaries). Both refuse to run as root, so
as root they run as the same system users the shared services use (``tbt-es``,
``postgres``); their folders live under /tmp with modes those users can traverse.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from devtools import services
from devtools.processes import free_port, stop_group

ES_HEAP = "-Xms512m -Xmx512m"  # pinned: the machine is shared, two nodes may never balloon


def service_folder(prefix: str, owner: str | None) -> Path:
    """A fresh folder under /tmp the service user may write (pytest's tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    if owner and os.geteuid() == 0:
        shutil.chown(folder, owner, owner)
    return folder


def _run_as(user: str | None, argv: list[str]) -> list[str]:
    if user is None or os.geteuid() != 0:
        return argv
    return ["runuser", "-u", user, "--", *argv]


class ThrowawayElasticsearch:
    """One single-node Elasticsearch of our own; ``kill()`` stops it the hard way."""

    def __init__(self, root: Path, *, data_dir: Path | None = None, settings: dict[str, str] | None = None):
        self.root = root
        self.home = services.ensure_elasticsearch()
        self.user = services.ES_USER if os.geteuid() == 0 else None
        self.data_dir = data_dir or root / "data"
        self.settings = dict(settings or {})
        self.http_port = free_port(between=(9210, 9290))
        self.transport_port = free_port(between=(9310, 9390))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "stdout.log"
        # A config folder of its own: Elasticsearch writes its keystore there.
        self.conf = root / "config"
        if not self.conf.exists():
            shutil.copytree(self.home / "config", self.conf)
        for sub in ("logs", "tmp"):
            (root / sub).mkdir(exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            subprocess.run(["chown", "-R", f"{self.user}:{self.user}", str(root), str(self.data_dir)], check=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 300.0) -> ThrowawayElasticsearch:
        env = {k: v for k, v in os.environ.items() if k != "JAVA_TOOL_OPTIONS"}
        env.update(ES_JAVA_OPTS=ES_HEAP, ES_PATH_CONF=str(self.conf), ES_TMPDIR=str(self.root / "tmp"))
        if "ES_JAVA_HOME" not in env:
            bundled = self.home / "jdk"
            env["ES_JAVA_HOME"] = str(bundled) if (bundled / "bin" / "java").exists() else services._java_home()
        argv = [str(self.home / "bin" / "elasticsearch")]
        options = {
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "http.port": str(self.http_port),
            "transport.port": str(self.transport_port),
            "xpack.security.enabled": "false",
            "path.data": str(self.data_dir),
            "path.logs": str(self.root / "logs"),
            "cluster.name": f"tbt-reliability-{self.http_port}",
            **self.settings,
        }
        for name, value in options.items():
            argv += ["-E", f"{name}={value}"]
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                _run_as(self.user, argv),
                env=env,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Elasticsearch on {self.http_port} exited: {self.tail()}")
            try:
                self.get("/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10)
                return self
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(1)
        raise RuntimeError(f"Elasticsearch on {self.http_port} did not come up in {timeout:.0f}s: {self.tail()}")

    @property
    def pgid(self) -> int:
        assert self.proc is not None, "the node is not running"
        return self.proc.pid  # start_new_session: its pid is its process group

    def get(self, path: str, timeout: float = 5.0) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as resp:
            result: dict[str, object] = json.loads(resp.read())
            return result

    def up(self) -> bool:
        try:
            self.get("/_cluster/health", timeout=2)
        except (OSError, urllib.error.URLError, ValueError):
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the whole node: what a crash or an OOM kill does."""
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc, sig=signal.SIGKILL, timeout=30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc, sig=signal.SIGTERM, timeout=60)
        self.proc = None

    def tail(self, lines: int = 30) -> str:
        texts = []
        for path in [self.log_path, *sorted((self.root / "logs").glob("*.log"))]:
            if path.exists() and path.stat().st_size:
                texts.append(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join("\n".join(t) for t in texts)[-6000:]


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own (initdb + pg_ctl), trust auth on loopback only."""

    def __init__(self, root: Path):
        self.root = root
        self.user = "postgres" if os.geteuid() == 0 else None
        self.data = root / "data"
        self.sockets = root / "run"
        self.sockets.mkdir(exist_ok=True)
        self.log_path = root / "postgres.log"
        self.log_path.touch()
        self.port = free_port(between=(5440, 5499))
        if self.user:
            subprocess.run(["chown", "-R", f"{self.user}:{self.user}", str(root)], check=True)
        subprocess.run(
            _run_as(
                self.user,
                [
                    services._pg_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off"
        subprocess.run(
            _run_as(
                self.user,
                [
                    services._pg_bin("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log_path),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    *args,
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> ThrowawayPostgres:
        self._ctl("start")
        return self

    def restart(self, mode: str = "fast") -> None:
        """``fast`` ends every session (what a planned restart does); ``immediate`` is a crash."""
        self._ctl("-m", mode, "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "immediate", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
