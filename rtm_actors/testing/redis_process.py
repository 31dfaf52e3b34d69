"""A ``redis-server`` of a test's own, on a free loopback port, that it may kill and restart.

Fault tests must never stop the machine's shared Redis; they start their own with the
persistence they want to test (``appendonly``), in a directory of their own.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gevent
import gevent.socket

from rtm_actors.bench.servers import free_port


class RedisProcess:
    """One ``redis-server`` process; ``kill``/``start`` keep its port and directory."""

    def __init__(self, directory: Path, appendonly: bool, appendfsync: str = "always") -> None:
        self.directory = directory
        self.port = free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start it (again) and wait until it answers."""
        binary = shutil.which("redis-server")
        if binary is None:
            msg = "redis-server is not installed"
            raise RuntimeError(msg)
        command = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
        ]  # fmt: skip
        self._proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if time.monotonic() > deadline or self._proc.poll() is not None:
                msg = f"redis-server on port {self.port} did not start"
                raise RuntimeError(msg)
            gevent.sleep(0.05)

    def kill(self) -> None:
        """``kill -9`` it: no shutdown save, what it synced is all that survives."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def _answers(self) -> bool:
        try:
            with gevent.socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def redis_process(directory: Path, appendonly: bool = True) -> Iterator[RedisProcess]:
    """A started ``redis-server`` in ``directory``; killed after."""
    process = RedisProcess(directory, appendonly)
    process.start()
    try:
        yield process
    finally:
        process.kill()
