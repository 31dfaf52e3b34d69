"""``FakeClock``: the runtime's time driven by hand, as trio's ``MockClock``; and
``end_round`` and ``settle``, to let the event loop run what a test set going.

Installed (``with FakeClock() as clock:``), it is what ``rtm_actors.runtime.now`` reads
and where ``NamedTimers`` set their timers; ``clock.advance(seconds)`` then fires every
timer that falls due in that span, in due order, at once, so that a rule about a
30-second timeout is tested in microseconds. Only the runtime's clock is faked: the
event loop, sockets, ``gevent.sleep`` and ``wait_until``'s deadline keep real time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from types import TracebackType
from typing import Any

import gevent

from rtm_actors.runtime.timers import Clock, use_clock


def end_round() -> None:
    """Let the event loop finish the round the caller is in: what was queued for its
    end (spawned greenlets, woken waiters, the writes a ``RoundWriter`` holds) runs
    before this returns."""
    gevent.sleep(0)


#: Idle iterations ``settle`` waits for at most: work that keeps queueing more work
#: (a greenlet that yields in a loop) is a test's bug, not a reason to hang.
MAX_SETTLE_ROUNDS = 1000

#: Idle loop iterations in a row, with nothing queued, that make ``settle`` return.
QUIET_ROUNDS = 2


def settle() -> None:
    """Run the event loop until it goes idle and stays so: every greenlet that was
    woken (an actor given a message, a reader given bytes already written to it in this
    process) has had its turn, and what it set going meanwhile too. What waits on
    another process or on a timer still waits.

    So "nothing happened" can be asserted without a sleep: whatever was going to happen
    in this process with no new input has happened.
    """
    loop = gevent.get_hub().loop
    # (The loop's queue of callbacks to run: gevent's own, not public; without it,
    # QUIET_ROUNDS idle iterations.) ``gevent.idle`` returns once an iteration had no
    # event pending (``sleep(0)`` would not let the loop poll for I/O in between).
    queued = getattr(loop, "_callbacks", ())
    quiet = 0
    for _ in range(MAX_SETTLE_ROUNDS):
        gevent.idle()
        quiet = 0 if queued else quiet + 1
        if quiet >= QUIET_ROUNDS:
            return


class FakeTimer:
    """A timer on a ``FakeClock``; ``close`` cancels it."""

    __slots__ = ("args", "callback", "closed", "when")

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.closed = False

    def close(self) -> None:
        """Cancel the timer (harmless once it fired)."""
        self.closed = True


class FakeClock:
    """A clock that stands still until a test advances it.

    Example:
        with FakeClock() as clock:
            timers.start("grace", 30.0, SessionTimerFired(SessionTimer.GRACE))
            clock.advance(29.9)   # nothing yet
            clock.advance(0.1)    # the grace timer fires now

    After each timer fires, ``advance`` lets the loop ``settle``, so that the timer
    relay tells its message and the actor handles it, at the timer's time, before the
    next timer fires: a timer that handler sets within the span fires in the same
    ``advance``, as it would in real time. (A handler that waits on a socket or on real
    time is not waited for.)
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._due: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()  # (equal due times fire in the order set)
        self._replaced: Clock | None = None

    def now(self) -> float:
        """The time the clock stands at."""
        return self._now

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> FakeTimer:
        """Run ``callback(*args)`` once the clock is advanced ``delay`` seconds."""
        timer = FakeTimer(self._now + max(0.0, delay), callback, args)
        heapq.heappush(self._due, (timer.when, next(self._order), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, firing every timer due meanwhile, in order."""
        if seconds < 0:
            msg = f"a clock never goes back ({seconds} s)"
            raise ValueError(msg)
        target = self._now + seconds
        due = self._due
        while due and due[0][0] <= target:
            when, _, timer = heapq.heappop(due)
            if timer.closed:
                continue
            self._now = max(self._now, when)
            timer.closed = True
            timer.callback(*timer.args)
            settle()
        self._now = target

    @property
    def pending(self) -> int:
        """How many timers are set and not yet fired or cancelled."""
        return sum(1 for _, _, timer in self._due if not timer.closed)

    def install(self) -> FakeClock:
        """Make this the runtime's clock (until ``uninstall``)."""
        if self._replaced is None:
            self._replaced = use_clock(self)
        return self

    def uninstall(self) -> None:
        """Put back the clock this one replaced."""
        if self._replaced is not None:
            use_clock(self._replaced)
            self._replaced = None

    def __enter__(self) -> FakeClock:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()
