"""The invite workload: call invitations from caller to callee and back, in pairs.

``pairs`` callers each keep one invitation going: invite, the callee's client accepts
at once, and the caller's next invitation leaves when it learns of the acceptance. A
round trip is invite sent to ``accepted`` received by the caller.
"""

from __future__ import annotations

import time
from array import array
from typing import Any

from rtm_actors.bench.common import Settings, WorkloadOutcome, connect_all, latency_metrics, measure
from rtm_actors.bench.handler import Driver
from rtm_actors.bench.ledger import BitLedger
from rtm_actors.bench.servers import BenchServer


class InviteDriver(Driver):
    """The load handler: each caller's loop, the ledger of acceptances, latencies."""

    def __init__(self, pairs: int) -> None:
        super().__init__()
        # Callers are even, their callees the odd user next to them.
        self.names = [f"c{i}" for i in range(2 * pairs)]
        self.ledger = BitLedger()
        self.sent_at: dict[int, int] = {}
        self.latencies = array("d")

    def invite(self, caller: Any) -> None:
        """The caller's next invitation (its acceptance is owed to the caller)."""
        n = self.ledger.send(1, caller.me)
        self.sent_at[n] = time.perf_counter_ns()
        try:
            caller.invite(self.names[caller.me + 1], n)
        except OSError as exc:
            self.failed(caller, f"invite: {exc}")

    def invitation_accepted(self, client: Any, n: int) -> None:
        """A caller learned its invitation was accepted: the round trip is done."""
        if self.ledger.deliver(client.me, n) < 0:
            return
        sent_ns = self.sent_at.pop(n, 0)
        if self.measuring:
            self.counted += 1
            self.latencies.append((time.perf_counter_ns() - sent_ns) / 1e6)
        if self.sending:
            self.invite(client)

    def settled(self) -> bool:
        """Every invitation sent has been accepted."""
        return self.ledger.delivered >= self.ledger.expected


def run(system: str, server: BenchServer, pairs: int, settings: Settings) -> WorkloadOutcome:
    """``pairs`` callers inviting their callees for the measured window."""
    driver = InviteDriver(pairs)
    clients = connect_all(system, server, driver, driver.names, settings)

    def start() -> None:
        for caller in clients[::2]:
            driver.invite(caller)

    meter = measure(driver, clients, server, settings, start)
    metrics = {"round trips/s": driver.counted / meter.elapsed}
    metrics.update(latency_metrics(driver.latencies))
    metrics.update(meter.cpu_metrics(driver.counted, "round trip"))
    return WorkloadOutcome(metrics, driver.ledger.tally(), list(driver.errors))
