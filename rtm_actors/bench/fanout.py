"""The fanout workload: one sender, a channel of M members, every other member receives.

A closed loop on deliveries: the sender keeps ``WINDOW`` messages not yet received by
every other member, and sends the next as soon as one is complete. Throughput counts
deliveries (one message to one member); latency is send to arrival at each member.
"""

from __future__ import annotations

import time
from array import array
from typing import Any

import gevent

from rtm_actors.bench.common import Settings, WorkloadOutcome, connect_all, latency_metrics, measure
from rtm_actors.bench.handler import Driver
from rtm_actors.bench.ledger import BitLedger
from rtm_actors.bench.servers import BenchServer

CHANNEL = "bench-room"
#: Channel messages on their way at once: about 1,600 deliveries in flight.
IN_FLIGHT = 1600


def window(members: int) -> int:
    """How many channel messages the sender keeps on their way."""
    return max(2, IN_FLIGHT // members)


class FanoutDriver(Driver):
    """The load handler: the sender's loop, the ledger and the latencies."""

    def __init__(self, members: int) -> None:
        super().__init__()
        self.names = [f"m{i}" for i in range(members)]
        self.sender: Any = None
        self.ledger = BitLedger()
        self.latencies = array("d")

    def send(self) -> None:
        """One channel message, owed to every member but the sender."""
        n = self.ledger.send(len(self.names) - 1)
        try:
            self.sender.send_channel(CHANNEL, n, time.perf_counter_ns())
        except OSError as exc:
            self.failed(self.sender, f"send: {exc}")

    def channel_received(self, me: int, n: int, sent_ns: int) -> None:
        """A member got message ``n``; the last one to get it lets the next one go."""
        left = self.ledger.deliver(me, n)
        if self.measuring:
            self.counted += 1
            self.latencies.append((time.perf_counter_ns() - sent_ns) / 1e6)
        if left == 0 and self.sending:
            self.send()

    def settled(self) -> bool:
        """Every delivery owed has arrived."""
        return self.ledger.delivered >= self.ledger.expected


def run(system: str, server: BenchServer, members: int, settings: Settings) -> WorkloadOutcome:
    """Join ``members`` users to one channel, then fan out for the measured window."""
    driver = FanoutDriver(members)
    clients = connect_all(system, server, driver, driver.names, settings, lambda c: c.join(CHANNEL))
    driver.sender = clients[0]

    def start() -> None:
        # Let the joins' own traffic (member events on our server) die down first.
        gevent.sleep(1.0)
        for _ in range(window(members)):
            driver.send()

    meter = measure(driver, clients, server, settings, start)
    metrics = {"deliveries/s": driver.counted / meter.elapsed}
    metrics.update(latency_metrics(driver.latencies))
    metrics.update(meter.cpu_metrics(driver.counted, "delivery"))
    return WorkloadOutcome(metrics, driver.ledger.tally(), list(driver.errors))
