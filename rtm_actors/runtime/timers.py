"""Timers for actors: a message told to an actor after a delay, without a greenlet.

A loop timer's callback runs on the hub and hands the message to the process's
``HubRelay`` (``runtime.hub_relay``), one greenlet that tells it with
``tell_or_run_inline``: an idle actor that takes the message inline
(``GeventActor.inline_messages``) handles it there, with no wake-up of a greenlet of
its own (a hub callback may not run turns: they may yield). So a timer costs a few
hundred bytes, not a greenlet, and a heartbeat no actor wake-up. A turn taken inline
there must never block: it would hold up every timer of the process.

Timers that need no precision (a heartbeat, a request's deadline) can be *coarse*
(``NamedTimers.start(..., coarse=True)``, or ``call_coarse`` for a plain callback on
the hub, as the client's heartbeat uses): they wait in one ``CoarseWheel`` per clock,
in slots of ``COARSE_TICK`` seconds, and every timer due in a slot fires from one loop
timer. Thousands of users' heartbeats then cost one timer start and one wake-up per
slot instead of one of each per heartbeat.

Time itself (``now`` and ``call_later``) comes from one module-level ``Clock``: the
event loop's, unless a test swaps in ``rtm_actors.testing.FakeClock`` with
``use_clock`` to drive time by hand. The indirection is one method call (~40 ns on
this machine against ~190 ns for the loop's clock itself); production code has no
test branch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol

import gevent
import gevent.event

from rtm_actors.runtime.hub_relay import hub_relay
from rtm_actors.runtime.refs import MessageT, Ref


class PendingCall(Protocol):
    """A pending ``call_later``: ``close`` cancels it (closing a fired one is harmless)."""

    def close(self) -> None: ...


class Clock(Protocol):
    """Where the runtime reads the time and sets its timers."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> PendingCall:
        """Run ``callback(*args)`` after ``delay`` seconds."""
        ...


class LoopClock:
    """The event loop's clock and timers: the runtime's clock in production."""

    __slots__ = ()

    def now(self) -> float:
        """The loop's monotonic clock, as read at the start of this loop iteration.

        Cheap, but behind by as long as code held the loop since (blocking start-up
        work, a long GC pause): timers and deadlines set from outside the loop count
        from the present instead (``call_later``, ``fresh_now``). Reading the clock
        afresh at every ``now()`` cost the server ~15% per peer message (bench
        peer-1000: 109 -> 128 us)."""
        return float(gevent.get_hub().loop.now())

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> PendingCall:
        """A loop timer: ``callback`` runs on the hub, ``delay`` seconds from the
        present (a timer started from the loop's stale clock after a 3 s block counted
        its 3 s login timeout from the past, and fired at once)."""
        loop = gevent.get_hub().loop
        loop.update_now()
        timer = loop.timer(max(0.0, delay))
        timer.start(callback, *args)
        return timer


_clock: Clock = LoopClock()


def use_clock(clock: Clock) -> Clock:
    """Make ``clock`` the runtime's clock (tests: a ``FakeClock``); answer the one it
    replaces, to be put back. Timers set before keep running on the clock that set them."""
    global _clock  # (one clock per process, swapped only by tests)
    previous, _clock = _clock, clock
    return previous


def call_later(delay: float, callback: Callable[..., Any], *args: Any) -> PendingCall:
    """Run ``callback(*args)`` on the hub after ``delay`` seconds; ``.close()`` cancels."""
    return _clock.call_later(delay, callback, *args)


def call_coarse(delay: float, callback: Callable[..., Any], *args: Any) -> PendingCall:
    """``call_later`` up to ``COARSE_TICK`` late, fired with every other coarse call
    due in the same slot (no loop timer of its own: see the module's docstring)."""
    return _wheel().add(delay, callback, *args)


def now() -> float:
    """The runtime's monotonic clock: the loop's, read once per loop iteration."""
    return _clock.now()


def fresh_now() -> float:
    """``now()`` brought up to the present first: for a deadline an application's call
    sets, which may come right after code that held the loop (from the stale clock,
    a request would expire early, and report a timeout that did not happen)."""
    if type(_clock) is LoopClock:
        gevent.get_hub().loop.update_now()
    return _clock.now()


class NamedTimers(Generic[MessageT]):
    """An actor's timers by name: starting one that runs restarts it."""

    __slots__ = ("_ref", "_timers")

    def __init__(self, actor_ref: Ref[MessageT]) -> None:
        self._ref = actor_ref
        self._timers: dict[Hashable, PendingCall] = {}

    def start(
        self, name: Hashable, delay: float, message: MessageT, *, coarse: bool = False
    ) -> None:
        """Tell ``message`` to the actor after ``delay`` seconds, replacing ``name``;
        ``coarse``: up to ``COARSE_TICK`` late, fired with others due then (cheaper)."""
        self.cancel(name)
        if coarse:
            self._timers[name] = call_coarse(delay, self._fire, name, message)
        else:
            self._timers[name] = call_later(delay, self._fire, name, message)

    def cancel(self, name: Hashable) -> None:
        """Stop timer ``name`` if it runs."""
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.close()

    def cancel_all(self) -> None:
        """Stop every timer (on actor stop)."""
        for timer in self._timers.values():
            timer.close()
        self._timers.clear()

    def is_running(self, name: Hashable) -> bool:
        """Whether timer ``name`` is pending."""
        return name in self._timers

    def _fire(self, name: Hashable, message: MessageT) -> None:
        self._timers.pop(name, None)
        hub_relay.put(self._ref, message)


#: The slot width of coarse timers, in seconds: such a timer fires up to this late.
COARSE_TICK = 0.1
#: Slots are numbered by float division: this much of a slot is rounding, not time.
_SLOT_SLACK = 1e-6


class CoarseCall:
    """A pending coarse timer; ``close`` cancels it (closing a fired one is harmless)."""

    __slots__ = ("args", "callback", "slot")

    def __init__(
        self, slot: dict[CoarseCall, None], callback: Callable[..., Any], args: Any
    ) -> None:
        self.slot: dict[CoarseCall, None] | None = slot
        self.callback = callback
        self.args = args

    def close(self) -> None:
        """Cancel the call."""
        slot = self.slot
        if slot is not None:
            self.slot = None
            slot.pop(self, None)


class CoarseWheel:
    """Coarse timers of one clock, in slots of ``tick`` seconds (see the module's
    docstring); a loop timer on that clock is set while any is pending, for the
    earliest slot."""

    __slots__ = ("_clock", "_due_slot", "_slots", "_timer", "tick")

    def __init__(self, clock: Clock, tick: float = COARSE_TICK) -> None:
        self._clock = clock
        self.tick = tick
        #: Slot number -> its calls (a dict: cancelling is a delete).
        self._slots: dict[int, dict[CoarseCall, None]] = {}
        self._timer: PendingCall | None = None
        self._due_slot = 0

    def add(self, delay: float, callback: Callable[..., Any], *args: Any) -> CoarseCall:
        """Call ``callback(*args)`` (on the hub) at the end of the slot ``delay`` ends in."""
        number = math.ceil((self._clock.now() + delay) / self.tick - _SLOT_SLACK)
        slot = self._slots.get(number)
        if slot is None:
            slot = self._slots[number] = {}
            if self._timer is None or number < self._due_slot:
                self._arm(number)
        call = CoarseCall(slot, callback, args)
        slot[call] = None
        return call

    def _arm(self, number: int) -> None:
        if self._timer is not None:
            self._timer.close()
        self._due_slot = number
        delay = max(0.0, (number - _SLOT_SLACK) * self.tick - self._clock.now())
        self._timer = self._clock.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        slots = self._slots
        now_slot = math.floor(self._clock.now() / self.tick + 2 * _SLOT_SLACK)
        for number in sorted(n for n in slots if n <= now_slot):
            for call in slots.pop(number):
                call.slot = None
                call.callback(*call.args)
        if slots:
            self._arm(min(slots))


#: The wheel of the clock in use (a swapped-out clock's wheel lives on while it has
#: timers: they keep running on the clock that set them).
_current_wheel: list[CoarseWheel] = []


def _wheel() -> CoarseWheel:
    """The coarse wheel of the runtime's clock now."""
    if not _current_wheel or _current_wheel[0]._clock is not _clock:
        _current_wheel[:] = [CoarseWheel(_clock)]
    return _current_wheel[0]
