"""Local services for development, `make run` and tests: Elasticsearch, PostgreSQL, an SMTP sink.

Each runs on loopback only. Downloads and server state live in a cache outside the
repository (``TBT_CACHE_DIR``) so a fresh clone reuses them and nothing large is
committed. Elasticsearch and PostgreSQL refuse to run as root, so when we are root
they run as dedicated system users.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tbt_alert.errors import ServiceUnavailable

# The newest Elasticsearch whose official test distribution is on Maven Central and
# runs on the default Java 17 here (9.x is not published as integ-test-zip).
ES_VERSION = "8.19.21"
ES_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
ES_PORT = 9200
ES_USER = "tbt-es"
# Our own PostgreSQL cluster; 5433 so it never clashes with a system cluster on 5432.
PG_PORT = int(os.environ.get("TBT_PG_PORT", "5433"))
SMTP_PORT = 8025


def cache_dir() -> Path:
    """Where downloads and service state are kept (outside the checkout).

    /root is not traversable by the service users, so as root we use /var/cache.
    """
    configured = os.environ.get("TBT_CACHE_DIR")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/tbt-alert")
    return Path.home() / ".cache" / "tbt-alert"


def run_dir() -> Path:
    path = cache_dir() / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class ServiceStatus:
    name: str
    up: bool
    detail: str


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    if user is None or os.geteuid() != 0:
        return argv
    return ["runuser", "-u", user, "--", *argv]


def _chown(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", f"{user}:{user}", str(path)], check=True)


# ---------------------------------------------------------------- Elasticsearch


def es_home() -> Path:
    return cache_dir() / f"elasticsearch-{ES_VERSION}"


def ensure_elasticsearch() -> Path:
    """Fetch Elastic's official test distribution with Maven and unpack it (once)."""
    home = es_home()
    if (home / "bin" / "elasticsearch").exists():
        return home
    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = downloads / f"elasticsearch-{ES_VERSION}.zip"
    if not archive.exists():
        if shutil.which("mvn") is None:
            raise ServiceUnavailable("Maven (mvn) is not installed; install it (apt-get install maven) and retry.")
        subprocess.run(
            ["mvn", "-q", "dependency:copy", f"-Dartifact={ES_ARTIFACT}", f"-DoutputDirectory={downloads}"],
            check=True,
            cwd=downloads,
        )
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(cache_dir())
    for script in (home / "bin").iterdir():
        script.chmod(0o755)
    jdk_bin = home / "jdk" / "bin"
    if jdk_bin.exists():
        for tool in jdk_bin.iterdir():
            tool.chmod(0o755)
    return home


def _es_get(path: str, timeout: float = 2.0) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{ES_PORT}{path}", timeout=timeout) as resp:
        result: dict[str, object] = json.loads(resp.read())
        return result


def elasticsearch_status() -> ServiceStatus:
    try:
        # The test distribution has no root info endpoint (GET / answers 405): ask the nodes API.
        nodes = _es_get("/_nodes/_local?filter_path=nodes.*.version")
        health = _es_get("/_cluster/health")
    except (OSError, urllib.error.URLError, ValueError):
        return ServiceStatus("elasticsearch", False, f"nothing answers on 127.0.0.1:{ES_PORT}")
    node_map = nodes.get("nodes")
    number = "?"
    if isinstance(node_map, dict) and node_map:
        number = str(next(iter(node_map.values())).get("version", "?"))
    return ServiceStatus("elasticsearch", True, f"version {number}, status {health.get('status')}")


def start_elasticsearch(timeout: float = 180.0) -> ServiceStatus:
    status = elasticsearch_status()
    if status.up:
        return status
    if _port_open(ES_PORT):
        raise ServiceUnavailable(f"port {ES_PORT} is taken by something that is not Elasticsearch; free it.")
    home = ensure_elasticsearch()
    state = cache_dir() / "es-state"
    for sub in ("data", "logs"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    user = None
    if os.geteuid() == 0:
        _ensure_user(ES_USER)
        user = ES_USER
        # ES writes into its config dir (keystore) as well as data and logs.
        _chown(home / "config", ES_USER)
        _chown(state, ES_USER)
    pidfile = state / "es.pid"
    env = dict(os.environ)
    # Pinned heap: the single node shares 2 cores and the memory with everything else.
    env["ES_JAVA_OPTS"] = os.environ.get("TBT_ES_JAVA_OPTS", "-Xms512m -Xmx1g")
    env.pop("JAVA_TOOL_OPTIONS", None)
    if "ES_JAVA_HOME" not in env and (home / "jdk").exists():
        env["ES_JAVA_HOME"] = str(home / "jdk")
    elif "ES_JAVA_HOME" not in env:
        env["ES_JAVA_HOME"] = _java_home()
    argv = [
        str(home / "bin" / "elasticsearch"),
        "-d",
        "-p",
        str(pidfile),
        "-E",
        "discovery.type=single-node",
        "-E",
        "network.host=127.0.0.1",
        "-E",
        f"http.port={ES_PORT}",
        "-E",
        "xpack.security.enabled=false",
        "-E",
        "cluster.routing.allocation.disk.threshold_enabled=false",
        "-E",
        f"path.data={state / 'data'}",
        "-E",
        f"path.logs={state / 'logs'}",
    ]
    subprocess.run(_as_user(user, argv), check=True, env=env, cwd=home)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _es_get("/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10)
            return elasticsearch_status()
        except (OSError, urllib.error.URLError, ValueError):
            time.sleep(1)
    raise ServiceUnavailable(
        f"Elasticsearch did not become healthy within {timeout:.0f}s; read {state / 'logs'} for the cause."
    )


def _java_home() -> str:
    java = shutil.which("java")
    if java is None:
        raise ServiceUnavailable("no Java found; install a JDK 17+ (apt-get install openjdk-17-jre-headless).")
    return str(Path(java).resolve().parent.parent)


def stop_elasticsearch() -> None:
    _stop_pidfile(cache_dir() / "es-state" / "es.pid")


# ---------------------------------------------------------------- PostgreSQL


def _pg_bin(tool: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), reverse=True):
        return str(candidate)
    found = shutil.which(tool)
    if found is None:
        raise ServiceUnavailable(f"PostgreSQL's {tool} is not installed; run: apt-get install postgresql")
    return found


def postgres_url(database: str = "postgres") -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/{database}"


def postgres_status() -> ServiceStatus:
    if not _port_open(PG_PORT):
        return ServiceStatus("postgresql", False, f"nothing answers on 127.0.0.1:{PG_PORT}")
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={PG_PORT} user=postgres dbname=postgres", connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable", reported as such
        return ServiceStatus("postgresql", False, f"port {PG_PORT} open but connecting failed: {exc}")
    return ServiceStatus("postgresql", True, f"version {row[0] if row else '?'} on port {PG_PORT}")


def start_postgres(timeout: float = 60.0) -> ServiceStatus:
    status = postgres_status()
    if status.up:
        return status
    data = cache_dir() / "pg-data"
    user = "postgres" if os.geteuid() == 0 else None
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if user:
            _chown(data, user)
        # Trust on loopback only: a throwaway cluster for development and tests.
        subprocess.run(
            _as_user(
                user,
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(data),
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
    sockets = cache_dir() / "pg-run"
    sockets.mkdir(parents=True, exist_ok=True)
    if user:
        _chown(sockets, user)
    log = cache_dir() / "pg.log"
    log.touch()
    if user:
        _chown(log, user)
    options = (
        f"-c listen_addresses=127.0.0.1 -p {PG_PORT} -k {sockets} -c fsync=off "
        "-c max_connections=200 -c shared_buffers=256MB"
    )
    subprocess.run(
        _as_user(
            user,
            [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", str(int(timeout)), "start"],
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    status = postgres_status()
    if not status.up:
        raise ServiceUnavailable(f"PostgreSQL did not start; read {log} for the cause.")
    return status


def stop_postgres() -> None:
    data = cache_dir() / "pg-data"
    if not (data / "postmaster.pid").exists():
        return
    user = "postgres" if os.geteuid() == 0 else None
    subprocess.run(
        _as_user(user, [_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        check=False,
        stdout=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------- SMTP sink


def smtp_status(port: int = SMTP_PORT) -> ServiceStatus:
    if not _port_open(port):
        return ServiceStatus("smtp", False, f"nothing answers on 127.0.0.1:{port}")
    try:
        import smtplib

        with smtplib.SMTP("127.0.0.1", port, timeout=3) as smtp:
            code, banner = smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return ServiceStatus("smtp", False, f"port {port} open but SMTP failed: {exc}")
    return ServiceStatus("smtp", True, f"SMTP sink on 127.0.0.1:{port} (NOOP {code})")


def start_smtp(maildir: Path, port: int = SMTP_PORT, timeout: float = 20.0) -> ServiceStatus:
    status = smtp_status(port)
    if status.up:
        return status
    pidfile = run_dir() / "smtp.pid"
    logfile = run_dir() / "smtp.log"
    with open(logfile, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.smtp_sink", "--port", str(port), "--maildir", str(maildir)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = smtp_status(port)
        if status.up:
            return status
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise ServiceUnavailable(f"the SMTP sink did not start; read {logfile} for the cause.")


def stop_smtp() -> None:
    _stop_pidfile(run_dir() / "smtp.pid")


def _stop_pidfile(pidfile: Path, timeout: float = 30.0) -> None:
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().strip())
    except ValueError:
        pidfile.unlink(missing_ok=True)
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.3)
    pidfile.unlink(missing_ok=True)


def statuses() -> list[ServiceStatus]:
    return [elasticsearch_status(), postgres_status(), smtp_status()]
