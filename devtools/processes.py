"""Ports and process groups for the local services, tests, benchmarks and experiment scripts.

``crawlers/run.py`` stops its scrapy child the same way but may not import devtools (it ships in the
wheel), so it keeps its own few lines.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK, *, between: tuple[int, int] | None = None) -> int:
    """A port on ``host`` that nothing listens on now: for a server we are about to start, or as a
    port that refuses connections.

    The system picks one unless ``between`` (start, stop) asks for one in that range, for services
    whose ports must stay out of the ephemeral range. Another process may take the port before it is
    used; that is acceptable for tests and local services, which start at once.
    """
    if between is None:
        with socket.socket() as sock:
            sock.bind((host, 0))
            return int(sock.getsockname()[1])
    start, stop = between
    for port in range(start, stop):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on {host} in {start}-{stop}; stop what holds them or widen the range")


def stop_group(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 60) -> bool:
    """Stop the process group ``proc`` leads (it was started with ``start_new_session=True``): send it
    ``sig``, wait up to ``timeout`` seconds for ``proc`` to exit, then SIGKILL the group.

    Signalling the group, not the process, also stops the children it started (workers, a JVM under
    ``runuser``). A process that has already exited is left alone. Returns True when the group had to
    be killed, so the caller can say so.
    """
    if proc.poll() is not None:
        return False
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:  # the group exited between poll() and killpg(): only the reaping is left
        pass
    try:
        proc.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        return True
