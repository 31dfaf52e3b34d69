"""What every benchmark here shares: a server in its own process, clients, /proc readings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import gevent
import gevent.socket

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.testing import fast_client_config

APP_ID = "bench"


@dataclass
class ServerProcess:
    """A running ``rtm-actors serve`` child process."""

    pid: int
    url: str

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident memory of the server, KiB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


@contextmanager
def server_process(port: int) -> Iterator[ServerProcess]:
    """Run a memory-store server on 127.0.0.1:``port`` in a child process (its own core)."""
    configure_logging("warning")
    cmd = [sys.executable, "-m", "rtm_actors.cli", "serve", "--port", str(port)]
    child = subprocess.Popen(
        [*cmd, "--store", "memory", "--log-level", "warning"], stdout=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port)
        yield ServerProcess(child.pid, f"ws://127.0.0.1:{port}/rtm")
    finally:
        child.terminate()
        child.wait(10)


def client(agora: ra.AgoraService, url: str, **config: object) -> ra.RtmService:
    """An initialised SDK client with generous timeouts for heavy runs."""
    rtm = agora.create_rtm_service()
    settings = {"login_timeout": 30.0, "request_timeout": 30.0, "peer_message_timeout": 30.0}
    rtm.initialize(
        APP_ID,
        ra.RtmServiceEventHandler(),
        server_url=url,
        config=fast_client_config(**{**settings, **config}),
    )
    return rtm


def log_in_all(clients: list[ra.RtmService], prefix: str, wave: int = 50) -> None:
    """Log clients in as ``<prefix><i>``, ``wave`` at a time (like real users)."""
    for start in range(0, len(clients), wave):
        batch = clients[start : start + wave]
        logins = [c.login(None, f"{prefix}{start + i}") for i, c in enumerate(batch)]
        for future in logins:
            future.get(60)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            gevent.socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            gevent.sleep(0.05)
    raise SystemExit(f"server did not listen on {port}")
