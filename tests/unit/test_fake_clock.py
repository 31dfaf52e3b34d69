"""The fake clock: the runtime's time and timers, driven by hand."""

from __future__ import annotations

import gevent
import pytest

from rtm_actors.runtime import GeventActor, NamedTimers, call_later, now
from rtm_actors.testing import FakeClock


class Recorder(GeventActor):
    def __init__(self, log: list) -> None:
        super().__init__()
        self.log = log

    def on_receive(self, message):
        self.log.append((message, now()))
        return message


class Ticker(GeventActor):
    """Restarts its own timer at every tick, as a channel's tick does."""

    def __init__(self, log: list, every: float) -> None:
        super().__init__()
        self.log = log
        self.every = every
        self.timers = NamedTimers(self.actor_ref)

    def on_start(self) -> None:
        self.timers.start("tick", self.every, "tick")

    def on_receive(self, message):
        if message == "tick":
            self.log.append(now())
            self.timers.start("tick", self.every, "tick")


def test_installed_it_is_the_runtimes_clock_and_uninstalled_it_is_not():
    """``now`` reads the fake clock while it is installed, the loop's clock after."""
    with FakeClock(start=1000.0) as clock:
        assert now() == 1000.0
        clock.advance(2.5)
        assert now() == 1002.5
    assert now() == gevent.get_hub().loop.now()


def test_advance_fires_every_due_timer_in_due_order_and_no_other():
    """Timers fire in the order they fall due (equal times: the order set), each seeing
    the clock at its own due time; a later one waits, a cancelled one never fires."""
    fired: list[tuple[str, float]] = []
    with FakeClock() as clock:
        call_later(3.0, lambda: fired.append(("c", now())))
        call_later(1.0, lambda: fired.append(("a", now())))
        call_later(1.0, lambda: fired.append(("b", now())))
        call_later(9.0, lambda: fired.append(("late", now())))
        call_later(2.0, lambda: fired.append(("cancelled", now()))).close()
        clock.advance(5.0)
        assert fired == [("a", 1.0), ("b", 1.0), ("c", 3.0)]
        assert now() == 5.0
        assert clock.pending == 1
        clock.advance(4.0)
        assert fired[-1] == ("late", 9.0)
        assert clock.pending == 0


def test_a_clock_never_goes_back():
    """Advancing by a negative span is an error, not time travel."""
    with FakeClock() as clock, pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1.0)


def test_an_actor_handles_each_timer_at_its_own_time_and_none_early():
    """Nothing reaches the actor before the clock passes a timer's time; past it, the
    actor handles the message with the clock at that time, not at the end of the span.
    (Restarts and cancels: ``test_runtime``'s named-timer test runs on this clock.)"""
    log: list = []
    with FakeClock() as clock:
        ref = Recorder.start(log)
        timers = NamedTimers(ref)
        for name, delay in (("grace", 30.0), ("unreachable", 40.0)):
            timers.start(name, delay, f"{name} expired")
        clock.advance(29.0)
        assert ref.ask("probe", timeout=1) == "probe"
        assert log == [("probe", 29.0)]
        clock.advance(20.0)
        assert ref.ask("probe", timeout=1) == "probe"
        expected = [("grace expired", 30.0), ("unreachable expired", 40.0), ("probe", 49.0)]
        assert log[1:] == expected
        assert not timers.is_running("grace")
        ref.stop()


def test_a_timer_its_handler_restarts_fires_again_within_the_same_advance():
    """A tick that sets the next tick keeps ticking through one long advance, as in
    real time: ten ticks in a second of 0.1 s ticks, each at its own time."""
    log: list[float] = []
    with FakeClock() as clock:
        ref = Ticker.start(log, 0.1)
        ref.ask("started", timeout=1)
        clock.advance(1.0)
        assert ref.ask("sync", timeout=1) is None
        assert len(log) == 10
        assert log == pytest.approx([0.1 * i for i in range(1, 11)])
        ref.stop()
