"""The peer workload: N users sending 1:1 messages to random peers.

Full load is a closed loop: each user keeps ``window`` messages awaiting their
delivery receipt, and sends the next when one comes back. Half load is an open loop
at a fixed rate (the runner picks half the slowest system's full-load rate, so every
system can keep up), with latency counted from each message's planned send time.
Throughput counts receipts (the sender's proof of delivery); latency is send to
arrival at the receiver.
"""

from __future__ import annotations

import random
import time
from array import array
from collections.abc import Callable
from typing import Any

import gevent

from rtm_actors.bench.common import Settings, WorkloadOutcome, connect_all, latency_metrics, measure
from rtm_actors.bench.handler import Driver
from rtm_actors.bench.ledger import BitLedger
from rtm_actors.bench.servers import BenchServer

#: Messages awaiting receipt per user at full load (about 1,000-2,000 in flight).
FULL_WINDOW = {100: 10, 1000: 2}
_TICK = 0.005


class PeerDriver(Driver):
    """The load handler: sends, counts receipts, keeps the ledger and latencies."""

    def __init__(self, users: int, window: int, seed: int = 9, prefix: str = "u") -> None:
        super().__init__()
        self.names = [f"{prefix}{i}" for i in range(users)]
        self.clients: list[Any] = []
        self.ledger = BitLedger()
        self.window = window
        self.rng = random.Random(seed)
        self.closed_loop = False
        self.receipts = 0
        self.refused = 0
        self.latencies = array("d")

    # -- sending -------------------------------------------------------------

    def send_from(self, client: Any, sent_ns: int = 0) -> None:
        """Send one message from ``client`` to a random other user."""
        target = self.rng.randrange(len(self.names) - 1)
        if target >= client.me:
            target += 1
        n = self.ledger.send(1, target)
        try:
            client.send_peer(self.names[target], n, sent_ns or time.perf_counter_ns())
        except OSError as exc:
            self.failed(client, f"send: {exc}")

    def pace(self, rate: float) -> None:
        """Open loop: ``rate`` messages per second from random users until stopped."""
        due = 0.0
        next_at = time.perf_counter()
        clients = self.clients
        while self.sending:
            next_at += _TICK
            due += rate * _TICK
            intended = time.perf_counter_ns()
            while due >= 1.0:
                due -= 1.0
                self.send_from(clients[self.rng.randrange(len(clients))], intended)
            gevent.sleep(max(0.0, next_at - time.perf_counter()))

    # -- LoadHandler ---------------------------------------------------------

    def peer_received(self, me: int, n: int, sent_ns: int) -> None:
        """A receiver got message ``n``."""
        self.ledger.deliver(me, n)
        if self.measuring:
            self.latencies.append((time.perf_counter_ns() - sent_ns) / 1e6)

    def receipt(self, client: Any, n: int, ok: bool) -> None:
        """A sender learned the outcome of message ``n``."""
        if not ok:
            self.refused += 1
            return
        self.receipts += 1
        if self.measuring:
            self.counted += 1
        if self.closed_loop and self.sending:
            self.send_from(client)

    def settled(self) -> bool:
        """Every message sent has its receipt or refusal, and its delivery."""
        return (
            self.receipts + self.refused >= self.ledger.sent
            and self.ledger.delivered >= self.ledger.expected
        )


def run(
    system: str,
    server: BenchServer,
    users: int,
    settings: Settings,
    rate: float | None = None,
    make_client: Callable[..., Any] | None = None,
    prefix: str = "u",
) -> WorkloadOutcome:
    """One phase: full load (``rate`` None) or an open loop at ``rate`` msg/s, by
    ``system``'s lean client or the ``make_client`` given, users ``<prefix><n>``."""
    driver = PeerDriver(users, FULL_WINDOW.get(users, 2), prefix=prefix)
    driver.clients = clients = connect_all(
        system, server, driver, driver.names, settings, make_client=make_client
    )
    pacer: list[gevent.Greenlet[Any, Any]] = []

    def start() -> None:
        if rate is None:
            driver.closed_loop = True
            for client in clients:
                for _ in range(driver.window):
                    driver.send_from(client)
        else:
            pacer.append(gevent.spawn(driver.pace, rate))

    meter = measure(driver, clients, server, settings, start)
    for greenlet in pacer:
        greenlet.kill()
    suffix = " (full load)" if rate is None else " (half load)"
    metrics = {f"delivered msg/s{suffix}": driver.counted / meter.elapsed}
    metrics.update(latency_metrics(driver.latencies, suffix))
    if rate is None:
        metrics.update(meter.cpu_metrics(driver.counted, "msg"))
    t = driver.ledger.tally()
    metrics[f"not delivered exactly once{suffix}"] = t.lost + t.duplicates + t.misrouted
    errors = list(driver.errors)
    if driver.refused:
        errors.append(f"{driver.refused} sends refused")
    return WorkloadOutcome(metrics, t, errors)
