"""The loss and duplicate tally of a run whose processes report to one collector.

Pure bookkeeping on top of ``Stats`` (its interval sets, loss rule and merge): no
Locust, no IO, so it is tested without either. Each load process keeps one
``Ledger``; ``rtm_actors.locust``'s workers ship theirs to the master as ``payload()``
(per stream: counts and sequence ranges, never every id), and the master merges
them with ``absorb`` and judges the run with ``tally().failures(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rtm_actors.loadtest.stats import IntervalSet, Stats


@dataclass(frozen=True, slots=True)
class Tally:
    """The run's delivery totals, merged over every process."""

    sent: int
    acked: int
    delivered: int
    expected: int
    lost: int
    duplicates: int
    out_of_order: int
    processes: int

    @property
    def loss_ratio(self) -> float:
        """Lost deliveries as a share of the expected ones."""
        return self.lost / self.expected if self.expected else 0.0

    def failures(self, max_loss: float, max_duplicates: int) -> list[str]:
        """Why the run fails these thresholds (empty: it passes)."""
        reasons = []
        if self.loss_ratio > max_loss:
            reasons.append(f"loss ratio {self.loss_ratio:.6f} > --rtm-max-loss {max_loss:g}")
        if self.duplicates > max_duplicates:
            reasons.append(f"duplicates {self.duplicates} > --rtm-max-duplicates {max_duplicates}")
        return reasons


class Ledger:
    """One process's sends, acknowledgements and deliveries, by stream.

    ``closed`` stops the measured sends when the run is being tallied, so that every
    message counted as acknowledged has had time to arrive before the count.
    """

    def __init__(self) -> None:
        self.stats = Stats()
        self.closed = False
        self._seqs: dict[str, int] = {}
        self._merged: Stats | None = None
        self._processes = 0

    def next_seq(self, stream: str) -> int:
        """The next sequence number of ``stream``: kept here rather than on the user, so
        a Locust user that replaces a stopped one under the same id goes on counting."""
        seq = self._seqs.get(stream, 0) + 1
        self._seqs[stream] = seq
        return seq

    # -- shipping and merging -----------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        """What a worker sends the master: counts and sequence ranges, JSON-ready."""
        stats = self.stats
        return {
            "sent": stats.sent,
            "acked": stats.acked,
            "delivered": stats.delivered,
            "duplicates": stats.duplicates,
            "out_of_order": stats.out_of_order,
            "acked_seqs": {k: v.intervals() for k, v in stats.acked_seqs.items()},
            "delivered_seqs": {k: v.intervals() for k, v in stats.delivered_seqs.items()},
            "members": stats.members,
        }

    def absorb(self, payload: Mapping[str, Any]) -> None:
        """Add one process's ``payload`` to the run's merged tally."""
        part = Stats()
        part.sent, part.acked = payload["sent"], payload["acked"]
        part.delivered, part.duplicates = payload["delivered"], payload["duplicates"]
        part.out_of_order = payload["out_of_order"]
        part.acked_seqs = {k: IntervalSet(v) for k, v in payload["acked_seqs"].items()}
        part.delivered_seqs = {k: IntervalSet(v) for k, v in payload["delivered_seqs"].items()}
        part.members = {c: dict(m) for c, m in payload["members"].items()}
        if self._merged is None:
            self._merged = Stats()
        self._merged.merge(part)
        self._processes += 1

    def tally(self) -> Tally:
        """The totals of every absorbed payload (losses found only after merging, so a
        message from one worker to a user in another counts correctly)."""
        merged = self._merged or Stats()
        expected, lost = merged.losses()
        return Tally(
            sent=merged.sent,
            acked=merged.acked,
            delivered=merged.delivered,
            expected=expected,
            lost=lost,
            duplicates=merged.duplicates,
            out_of_order=merged.out_of_order,
            processes=self._processes,
        )
