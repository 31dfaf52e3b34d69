"""Live progress: users logged in, messages per second, p50/p99 so far, errors.

Worker processes (or the in-process worker) send a snapshot about once a second;
``ProgressBoard`` merges the latest of each and renders one line. On a terminal the
line is rewritten in place; otherwise a plain line is printed every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from rtm_actors.loadtest.stats import SERIES_DIGITS, new_histogram


class ProgressBoard:
    """The merged view of every worker's latest snapshot (pure: no IO, no clock)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self.latest: dict[int, dict[str, Any]] = {}
        self.latency = new_histogram(SERIES_DIGITS)
        self._last_totals: tuple[float, int, int] | None = None

    def update(self, snapshot: dict[str, Any]) -> None:
        """Take one worker's snapshot."""
        self.latest[int(snapshot.get("worker", 0))] = snapshot
        for encoded in snapshot.get("latency", ()):
            self.latency.add(HdrHistogram.decode(encoded.encode("ascii")))

    def totals(self) -> dict[str, Any]:
        """Sums over workers of the latest figures."""
        snaps = list(self.latest.values())
        total: dict[str, Any] = {
            key: sum(int(s.get(key, 0)) for s in snaps)
            for key in ("users", "logged_in", "sent", "acked", "delivered", "errors")
        }
        total["t"] = max((float(s.get("t", 0.0)) for s in snaps), default=0.0)
        phases = sorted({str(s.get("phase", "")) for s in snaps})
        total["phase"] = "/".join(phases) or "start"
        return total

    def line(self) -> str:
        """One line: phase, users, rates since the previous line, latency, errors."""
        total = self.totals()
        t, sent, delivered = total["t"], total["sent"], total["delivered"]
        sent_rate = delivered_rate = 0.0
        if self._last_totals is not None:
            t0, sent0, delivered0 = self._last_totals
            if t > t0:
                sent_rate = (sent - sent0) / (t - t0)
                delivered_rate = (delivered - delivered0) / (t - t0)
        self._last_totals = (t, sent, delivered)
        if self.latency.get_total_count():
            p50 = self.latency.get_value_at_percentile(50) / 1000
            p99 = self.latency.get_value_at_percentile(99) / 1000
            latency = f"p50 {p50:.1f} ms  p99 {p99:.1f} ms"
        else:
            latency = "p50 -  p99 -"
        return (
            f"[{t:6.1f}s {total['phase']:<8}] users {total['logged_in']:,}/{total['users']:,}"
            f"  sent {sent:,} ({sent_rate:,.0f}/s)  delivered {delivered:,}"
            f" ({delivered_rate:,.0f}/s)  {latency}  errors {total['errors']:,}"
        )


class ProgressPrinter:
    """Writes the board: in place on a TTY, else one plain line per ``interval``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 0.0,
        tty: bool | None = None,
        clock: Callable[[], float] | None = None,
        workers: int = 1,
    ) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval or (1.0 if self.tty else 5.0)
        self.board = ProgressBoard(workers)
        self._clock = clock or time.monotonic
        self._next = 0.0
        self._dirty = False

    def __call__(self, snapshot: dict[str, Any]) -> None:
        """Take a snapshot; print when a line is due."""
        self.board.update(snapshot)
        now = self._clock()
        if now >= self._next:
            self._next = now + self.interval
            self.show()

    def show(self) -> None:
        """Print the current line."""
        line = self.board.line()
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
            self._dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line, if any."""
        if self._dirty:
            self.stream.write("\n")
            self.stream.flush()
            self._dirty = False
