"""The built-in scenarios' user, and the scheduler that runs thousands of them.

A ``PlannedUser`` does what the plan says: its ticks (peer or channel message,
presence query, invitation) at their times, and its drops (log out, stay away, log
in again). One ``TickScheduler`` greenlet per process runs every planned user's ticks
from a heap of due times, instead of a sleeping greenlet per user: less memory per
user, and a late tick keeps its planned time (latency counts from it).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import gevent
import gevent.event

from rtm_actors.loadtest.scenario import CHANNEL, INVITE, PEER, QUERY, PlannedAction
from rtm_actors.loadtest.user import SimulatedUser
from rtm_actors.runtime import Yielder

#: The action of a planned drop (log out, stay away ``down_for``, log in again).
DROP = "drop"
#: The scheduler wakes at most once per this many seconds and runs every tick due by
#: then: a wake per tick was ~10% of the load process's CPU at 3,000 ticks a second;
#: this adds under this much to their schedule lag.
TICK_BATCH_S = 0.002


class PlannedUser(SimulatedUser):
    """The built-in scenarios' user: it follows its ticks and drops in the plan."""

    #: Run by the process's ``TickScheduler`` rather than a greenlet of its own.
    scheduled: ClassVar[bool] = True

    def setup(self) -> None:
        """Join the planned channels and watch the planned peers."""
        for channel_id in self.plan.channels:
            self.join(channel_id)
        if self.plan.subscriptions:
            self.subscribe(self.plan.subscriptions)

    def events(self) -> Iterator[PlannedAction]:
        """Ticks and drops in time order (``at``: seconds into the traffic phase)."""
        if not self.plan.drops:
            return self.context.plan.ticks(self.plan)
        return self._with_drops()

    def _with_drops(self) -> Iterator[PlannedAction]:
        plan = self.context.plan
        drops = list(self.plan.drops)
        for tick in plan.ticks(self.plan):
            while drops and drops[0] <= tick.at:
                yield PlannedAction(drops.pop(0), DROP, "")
            yield tick
        for at in drops:
            if at < plan.duration:
                yield PlannedAction(at, DROP, "")

    def act(self, tick: PlannedAction) -> None:
        """Do one tick now, as if at its planned time (how late it is: ``schedule_lag``)."""
        context = self.context
        self.intended = context.go_at + tick.at
        self.stats.record_op("schedule_lag", context.clock() - self.intended)
        self.stats.counters["actions_done"] += 1
        self.run_task(_ACTIONS[tick.action], tick.target)

    def run(self) -> None:
        """The same events in a greenlet of this user's own (when not scheduled)."""
        context = self.context
        for event in self.events():
            delay = context.go_at + event.at - context.clock()
            if delay > 0:
                gevent.sleep(delay)
            if event.action == DROP:
                self.drop(context.plan.scenario.down_for)
            else:
                self.act(event)

    def _peer(self, target: str) -> None:
        self.send_peer(target)

    def _channel(self, target: str) -> None:
        self.send_channel(target)

    def _query(self, target: str) -> None:
        self.query((target,))

    def _invite(self, target: str) -> None:
        self.invite(target)


_ACTIONS: dict[str, Callable[..., None]] = {
    PEER: PlannedUser._peer,
    CHANNEL: PlannedUser._channel,
    QUERY: PlannedUser._query,
    INVITE: PlannedUser._invite,
}


class TickScheduler:
    """Runs the events of many planned users from one greenlet.

    Ticks run on the scheduler's greenlet (they never block: results come back
    through callbacks); a drop blocks, so it gets a short-lived greenlet, and the
    user's later events go back on the heap when it is back.
    """

    def __init__(self, users: Sequence[PlannedUser], go_at: float, clock: Callable[[], float]):
        self._go_at = go_at
        self._clock = clock
        self._heap: list[
            tuple[float, int, PlannedUser, Iterator[PlannedAction], PlannedAction]
        ] = []
        self._order = itertools.count()
        self._wake = gevent.event.Event()
        self._dropping = 0
        for user in users:
            self._push(user, user.events())

    def _push(self, user: PlannedUser, events: Iterator[PlannedAction]) -> None:
        event = next(events, None)
        if event is not None:
            heapq.heappush(self._heap, (event.at, next(self._order), user, events, event))
            self._wake.set()

    def run(self) -> None:
        """Until every user's events are done (and every drop is back)."""
        heap, clock, yielder = self._heap, self._clock, Yielder(50)
        order, push, pop = self._order, heapq.heappush, heapq.heappop
        while heap or self._dropping:
            if not heap:
                self._wake.clear()
                self._wake.wait(1.0)
                continue
            delay = self._go_at + heap[0][0] - clock()
            if delay > 0:
                self._wake.clear()
                # A drop coming back may push an earlier event. Never sooner than a
                # batch window: the ticks due meanwhile then run in one wake.
                self._wake.wait(max(delay, TICK_BATCH_S))
                continue
            _, _, user, events, event = pop(heap)
            if event.action == DROP:
                self._dropping += 1
                gevent.spawn(self._drop, user, events)
            else:
                user.act(event)
                # The user's next event, inline: this greenlet is awake, no wake to set.
                following = next(events, None)
                if following is not None:
                    push(heap, (following.at, next(order), user, events, following))
            yielder.tick()

    def _drop(self, user: PlannedUser, events: Iterator[PlannedAction]) -> None:
        try:
            user.drop(user.context.plan.scenario.down_for)
        finally:
            self._dropping -= 1
            self._push(user, events)


def is_scheduled(user: Any) -> bool:
    """Whether ``user`` runs on the process's scheduler rather than its own greenlet."""
    return bool(getattr(user, "scheduled", False))
