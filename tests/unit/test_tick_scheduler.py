"""The load tool's tick scheduler: ticks run in plan order, and those due close
together run in one wake rather than one wake each."""

from __future__ import annotations

import time

import gevent.event

from rtm_actors.loadtest.planned import TICK_BATCH_S, TickScheduler
from rtm_actors.loadtest.scenario import PEER, PlannedAction


class FakeUser:
    def __init__(self, ticks: list[PlannedAction], log: list[float]) -> None:
        self._ticks = ticks
        self._log = log

    def events(self):
        return iter(self._ticks)

    def act(self, tick: PlannedAction) -> None:
        self._log.append(tick.at)


class CountingEvent(gevent.event.Event):
    waits = 0

    def wait(self, timeout=None):
        CountingEvent.waits += 1
        return super().wait(timeout)


def test_ticks_due_close_together_run_in_order_in_few_wakes():
    """Forty ticks over ten batch windows run in order, in a wake per window at most
    (each wait lasts a window or more), not one wake per tick."""
    log: list[float] = []
    step = TICK_BATCH_S / 4
    users = [
        FakeUser(
            [PlannedAction(0.01 + (2 * i + k) * step / 2, PEER, f"u{k}") for i in range(20)], log
        )
        for k in range(2)
    ]
    scheduler = TickScheduler(users, time.monotonic(), time.monotonic)  # type: ignore[arg-type]
    scheduler._wake = CountingEvent()
    scheduler.run()
    assert log == sorted(log)
    assert len(log) == 40
    assert CountingEvent.waits <= 7
