"""What every workload shares: run settings, connecting many users, heartbeats, meters."""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.pool

from rtm_actors.bench.handler import Driver
from rtm_actors.bench.ledger import BitLedgerTotals, percentile
from rtm_actors.bench.servers import BenchServer, client_class
from rtm_actors.loadtest import procstat

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Settings:
    """How long each phase runs; ``quick`` trades precision for a run of a few seconds."""

    warmup: float = 2.0
    measure: float = 10.0
    drain: float = 15.0
    #: Logins in flight at once while users connect (a storm, not a SYN flood).
    connect_concurrency: int = 200
    #: Characters of text per message.
    pad: int = 64

    @classmethod
    def quick(cls) -> Settings:
        """Settings for ``--quick``."""
        return cls(warmup=0.5, measure=2.0, drain=10.0)


@dataclass
class WorkloadOutcome:
    """One system's figures for one workload (or phase)."""

    metrics: dict[str, float] = field(default_factory=dict)
    tally: BitLedgerTotals | None = None
    errors: list[str] = field(default_factory=list)


def connect_all(
    system: str,
    server: BenchServer,
    handler: Any,
    names: list[str],
    settings: Settings,
    on_connected: Callable[[Any], None] | None = None,
    make_client: Callable[..., Any] | None = None,
) -> list[Any]:
    """Connect (and log in) one client per name, ``connect_concurrency`` at a time
    (``make_client``: another client than ``system``'s lean one, such as the SDK)."""
    cls = make_client or client_class(system)
    clients = [cls(i, name, handler, settings.pad) for i, name in enumerate(names)]
    pool = gevent.pool.Pool(settings.connect_concurrency)

    def one(client: Any) -> None:
        client.connect(HOST, server.port)
        if on_connected is not None:
            on_connected(client)

    # Heartbeats from the start: on a loaded machine a thousand logins can take longer
    # than the server's idle timeout (10 s), which would drop the first clients.
    with heartbeats(clients):
        for client in clients:
            pool.spawn(one, client)
        pool.join(raise_error=True)
    return clients


def close_all(clients: list[Any]) -> None:
    """Drop every client's connection."""
    for client in clients:
        client.close()


@contextmanager
def heartbeats(clients: list[Any], interval: float = 2.0) -> Iterator[None]:
    """Send each client's protocol heartbeat every ``interval`` while the block runs,
    spread evenly over the interval (as real clients' are), not all at once."""
    step = 20

    def beat() -> None:
        pause = interval * step / max(len(clients), 1)
        while True:
            for i in range(0, len(clients), step):
                for client in clients[i : i + step]:
                    client.heartbeat()
                gevent.sleep(pause)

    greenlet = gevent.spawn(beat)
    try:
        yield
    finally:
        greenlet.kill()


class Meter:
    """Wall time, server CPU and load CPU over a measured window."""

    def __init__(self, server: BenchServer) -> None:
        self.server = server
        self.elapsed = 0.0
        self.server_cpu = 0.0
        self.load_cpu = 0.0
        self._t0 = self._s0 = self._l0 = 0.0

    def start(self) -> None:
        """Begin the window."""
        self._t0 = time.perf_counter()
        self._s0 = self.server.cpu_seconds()
        self._l0 = procstat.cpu_seconds()

    def stop(self) -> None:
        """End the window."""
        self.elapsed = time.perf_counter() - self._t0
        self.server_cpu = self.server.cpu_seconds() - self._s0
        self.load_cpu = procstat.cpu_seconds() - self._l0

    def cpu_metrics(self, per: float, unit: str) -> dict[str, float]:
        """Server CPU per ``unit`` (microseconds) and both processes' core use (%)."""
        elapsed = max(self.elapsed, 1e-9)
        return {
            f"server CPU us/{unit}": self.server_cpu / max(per, 1.0) * 1e6,
            "server CPU %": 100.0 * self.server_cpu / elapsed,
            "load CPU %": 100.0 * self.load_cpu / elapsed,
        }


def latency_metrics(latencies_ms: array[float], suffix: str = "") -> dict[str, float]:
    """p50 and p99 of the latencies, in milliseconds."""
    ordered = sorted(latencies_ms)
    return {
        f"p50 ms{suffix}": percentile(ordered, 50),
        f"p99 ms{suffix}": percentile(ordered, 99),
    }


def measure(
    driver: Driver,
    clients: list[Any],
    server: BenchServer,
    settings: Settings,
    start: Callable[[], None],
) -> Meter:
    """Start the clients' readers and heartbeats, let ``start`` begin sending, warm up,
    measure, stop sending and wait for what is on its way; close the clients."""
    for client in clients:
        client.start()
    meter = Meter(server)
    with heartbeats(clients):
        driver.sending = True
        start()
        gevent.sleep(settings.warmup)
        driver.measuring = True
        meter.start()
        gevent.sleep(settings.measure)
        meter.stop()
        driver.measuring = False
        driver.sending = False
        wait_until(driver.settled, settings.drain)
    close_all(clients)
    return meter


def wait_until(done: Callable[[], bool], timeout: float) -> bool:
    """Poll ``done`` (yielding) until it holds or ``timeout`` passes."""
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            return False
        gevent.sleep(0.05)
    return True
