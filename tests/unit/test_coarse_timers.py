"""Coarse timers: every timer due within one slot fires from one loop timer, at the
end of the slot it is due in; restarted and cancelled ones do not fire."""

from __future__ import annotations

from rtm_actors.runtime import GeventActor, NamedTimers
from rtm_actors.runtime.timers import COARSE_TICK, CoarseWheel
from rtm_actors.testing import FakeClock


class Log(GeventActor):
    def __init__(self, log: list) -> None:
        super().__init__()
        self.log = log

    def on_receive(self, message):
        self.log.append(message)


def test_a_coarse_timer_fires_at_the_end_of_its_slot_and_not_before():
    log: list = []
    ref = Log.start(log)
    with FakeClock() as clock:
        timers = NamedTimers(ref)
        timers.start("beat", 2.0 - COARSE_TICK / 2, "beat", coarse=True)
        clock.advance(2.0 - COARSE_TICK / 2 + 0.001)
        assert log == []  # due inside the slot ending at 2.0
        clock.advance(COARSE_TICK / 2)
        assert log == ["beat"]
    ref.stop()


def test_coarse_timers_restart_and_cancel_like_the_others():
    log: list = []
    ref = Log.start(log)
    with FakeClock() as clock:
        timers = NamedTimers(ref)
        timers.start("a", 0.5, "a fired", coarse=True)
        timers.start("b", 0.5, "b first", coarse=True)
        timers.start("b", 1.0, "b second", coarse=True)
        timers.start("c", 0.5, "c fired", coarse=True)
        timers.cancel("c")
        assert timers.is_running("b")
        clock.advance(2.0)
        assert not timers.is_running("b")
    assert sorted(log) == ["a fired", "b second"]
    ref.stop()


def test_timers_due_in_one_slot_share_one_loop_timer():
    with FakeClock() as clock:
        wheel = CoarseWheel(clock)
        fired: list[int] = []
        for i in range(100):
            wheel.add(1.0 + i * COARSE_TICK / 200, fired.append, i)
        assert clock.pending == 1
        wheel.add(0.3, fired.append, -1)  # an earlier slot: the wheel's timer moves
        assert clock.pending == 1
        clock.advance(0.3)
        assert fired == [-1]
        clock.advance(0.8)
        assert fired == [-1, *range(100)]
        assert clock.pending == 0  # nothing left: no timer set
