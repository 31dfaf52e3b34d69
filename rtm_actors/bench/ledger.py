"""Exactly-once accounting: every message a run sends, and every delivery of it.

``send`` numbers a message and says how many deliveries it owes (1 for a peer
message, the other members for a channel message) and, for a peer message, to whom.
``deliver`` records one arrival at one receiver. At the end ``lost`` counts what
never arrived, ``duplicates`` what arrived twice at the same receiver, and
``misrouted`` what arrived at the wrong user: a clean run has all three at zero.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class BitLedgerTotals:
    """A ledger's totals."""

    sent: int
    expected: int
    delivered: int
    lost: int
    duplicates: int
    misrouted: int

    @property
    def clean(self) -> bool:
        """Every message delivered exactly once, to its receiver."""
        return self.lost == 0 and self.duplicates == 0 and self.misrouted == 0


class BitLedger:
    """Messages sent and their deliveries, one bit per (receiver, message)."""

    __slots__ = (
        "_remaining",
        "_seen",
        "_targets",
        "delivered",
        "duplicates",
        "expected",
        "misrouted",
        "sent",
    )

    def __init__(self) -> None:
        self.sent = 0
        self.expected = 0
        self.delivered = 0
        self.duplicates = 0
        self.misrouted = 0
        #: Per receiver, a byte per message number: delivered yet?
        self._seen: dict[int, bytearray] = {}
        #: The one receiver of each message (-1: any of the expected ones).
        self._targets = array("i")
        #: Deliveries each message still owes.
        self._remaining = array("i")

    def send(self, receivers: int = 1, target: int = -1) -> int:
        """Number a new message owing ``receivers`` deliveries (to ``target``, if one)."""
        n = self.sent
        self.sent += 1
        self.expected += receivers
        self._targets.append(target)
        self._remaining.append(receivers)
        return n

    def deliver(self, receiver: int, n: int) -> int:
        """Record message ``n`` at ``receiver``; answer the deliveries it still owes
        (0 once it is complete), or -1 if this one is a duplicate or misrouted."""
        if n < 0 or n >= self.sent:
            self.misrouted += 1
            return -1
        target = self._targets[n]
        if target >= 0 and target != receiver:
            self.misrouted += 1
            return -1
        seen = self._seen.get(receiver)
        if seen is None:
            seen = self._seen[receiver] = bytearray()
        if n >= len(seen):
            seen.extend(bytes(n - len(seen) + _CHUNK))
        if seen[n]:
            self.duplicates += 1
            return -1
        seen[n] = 1
        self.delivered += 1
        self._remaining[n] -= 1
        return self._remaining[n]

    def owed(self, n: int) -> int:
        """Deliveries message ``n`` still owes."""
        return self._remaining[n]

    def tally(self) -> BitLedgerTotals:
        """The totals so far."""
        return BitLedgerTotals(
            self.sent,
            self.expected,
            self.delivered,
            self.expected - self.delivered,
            self.duplicates,
            self.misrouted,
        )


def percentile(sorted_values: list[float] | array[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of already sorted values; 0 if none."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return float(sorted_values[rank])
