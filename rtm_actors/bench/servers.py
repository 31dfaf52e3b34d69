"""The three systems under test, each as a server process of its own.

The benchmark process is the load generator: it pins itself to one core and each
server to another (when the machine has two or more), so server and load each get a
core. ``/proc`` gives the server's CPU time and resident memory.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.socket

from rtm_actors.loadtest import procstat

#: System name -> (what the table calls it, the load client speaking its protocol).
SYSTEMS = ("ours", "ceiling", "socketio")


def _command(system: str, port: int, extra: tuple[str, ...]) -> list[str]:
    py = sys.executable
    if system == "ours":
        return [py, "-m", "rtm_actors.bench.ours_server", "--port", str(port), *extra]
    if system == "ceiling":
        return [py, "-m", "rtm_actors.bench.ceiling", "--port", str(port), *extra]
    if system == "socketio":
        return [py, "-m", "rtm_actors.bench.sio_server", "--port", str(port), *extra]
    msg = f"unknown system {system!r}"
    raise ValueError(msg)


def client_class(system: str) -> Any:
    """The load client for ``system`` (ours and the ceiling speak the same protocol)."""
    if system == "socketio":
        from rtm_actors.bench.sio_client import SioLoadClient

        return SioLoadClient
    from rtm_actors.bench.rtm_client import RtmLoadClient

    return RtmLoadClient


#: The cores this process could use when it started (before ``pin_load``).
_AVAILABLE = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def cores() -> tuple[set[int], set[int]] | None:
    """(server cores, load cores), or None on a one-core machine (no pinning)."""
    available = _AVAILABLE
    if len(available) < 2:
        return None
    return {available[0]}, {available[1]}


@contextlib.contextmanager
def load_pinned() -> Iterator[None]:
    """Pin this (the load) process to its core while the block runs."""
    pinned = cores()
    if pinned is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, pinned[1])
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@dataclass
class BenchServer:
    """A running server of one system."""

    system: str
    pid: int
    port: int
    child: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        return procstat.cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        """Resident memory, KiB."""
        return procstat.rss_kib(self.pid)

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.child.poll() is None


@contextlib.contextmanager
def running(system: str, extra: tuple[str, ...] = ()) -> Iterator[BenchServer]:
    """Start ``system``'s server on a free loopback port; stop it afterwards."""
    port = free_port()
    child = subprocess.Popen(
        _command(system, port, extra), stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    pinned = cores()
    if pinned is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(child.pid, pinned[0])
    try:
        _wait_for_port(port, child)
        yield BenchServer(system, child.pid, port, child)
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, child: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            msg = f"server exited with {child.returncode} before listening"
            raise RuntimeError(msg)
        try:
            gevent.socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            gevent.sleep(0.05)
    msg = f"server did not listen on {port} within {timeout:.0f} s"
    raise RuntimeError(msg)
