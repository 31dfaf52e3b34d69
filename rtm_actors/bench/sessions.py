"""The login storm and the idle users: connecting, and what a connected user costs.

login: ``users`` clients connect and log in, ``Settings.connect_concurrency`` at a
time (a storm, not a SYN flood), from a standing start; logins/s is users over the
time until the last one got its answer (``login_ok``; socket.io's connect ack).

idle: ``users`` clients log in and then only keep their heartbeats; the server's
resident memory after, minus before, over the users is the cost of one idle user.
"""

from __future__ import annotations

import time
from array import array
from typing import Any

import gevent

from rtm_actors.bench.common import (
    Settings,
    WorkloadOutcome,
    close_all,
    connect_all,
    heartbeats,
    latency_metrics,
)
from rtm_actors.bench.handler import Driver
from rtm_actors.bench.servers import BenchServer


def run_login(system: str, server: BenchServer, users: int, settings: Settings) -> WorkloadOutcome:
    """A storm of ``users`` logins."""
    handler = Driver()
    times = array("d")
    start = time.perf_counter()

    def connected(_client: Any) -> None:
        times.append((time.perf_counter() - start) * 1000.0)

    clients = connect_all(system, server, handler, _names(users), settings, connected)
    elapsed = time.perf_counter() - start
    close_all(clients)
    metrics = {
        "logins/s": users / elapsed,
        "s to all connected": elapsed,
    }
    # Latency of a login here is from the storm's start: the queue shows in it.
    metrics.update(latency_metrics(times, " since start"))
    return WorkloadOutcome(metrics, None, handler.errors)


def run_idle(system: str, server: BenchServer, users: int, settings: Settings) -> WorkloadOutcome:
    """``users`` idle logged-in users: server memory per user."""
    handler = Driver()
    gevent.sleep(0.5)
    before = server.rss_kib()
    clients = connect_all(system, server, handler, _names(users), settings)
    for client in clients:
        client.start()
    with heartbeats(clients):
        gevent.sleep(max(1.0, settings.warmup))
        after = server.rss_kib()
    close_all(clients)
    metrics = {
        "server KB per user": (after - before) / users * 1.024,
        "server RSS MB": after / 1024.0,
    }
    return WorkloadOutcome(metrics, None, handler.errors)


def _names(users: int) -> list[str]:
    return [f"s{i}" for i in range(users)]
