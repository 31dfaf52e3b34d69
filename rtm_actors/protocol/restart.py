"""Restart intensity for supervisors (OTP semantics), pure.

A supervisor may restart a child at most ``max_restarts`` times in any window of
``period`` seconds; one more means something is wrong beyond a single crash, and the
supervisor gives up on that child instead of looping.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum


class Restart(Enum):
    """When a supervisor restarts a child that exited."""

    #: Always restart (a service the system cannot run without).
    PERMANENT = "permanent"
    #: Restart only after a crash, not after a normal stop.
    TRANSIENT = "transient"
    #: Never restart; clean up after it (a user's session: its socket is gone).
    TEMPORARY = "temporary"

    def should_restart(self, *, crashed: bool) -> bool:
        """Whether a child with this policy comes back after it exited."""
        return self is Restart.PERMANENT or (self is Restart.TRANSIENT and crashed)


@dataclass
class RestartIntensity:
    """Counts restarts in a sliding window; ``allow`` says if one more is within bounds."""

    max_restarts: int = 3
    period: float = 5.0
    _times: deque[float] = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        """Record a restart at ``now`` if the window still has room; say whether it had."""
        while self._times and now - self._times[0] > self.period:
            self._times.popleft()
        if len(self._times) >= self.max_restarts:
            return False
        self._times.append(now)
        return True
