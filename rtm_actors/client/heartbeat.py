"""``LinkHeartbeat``: a link's protocol heartbeat, run on the hub, no actor turn per ping.

The connection machine decides what a heartbeat does (``protocol.connection.heartbeat``:
nothing yet, a ping, or the link is dead). Asked through the supervisor's turn, each
look was a relay hand-off, an actor turn, a list of effects and a timer restart: ~30 us
per user every 10 s, the largest part of an idle load-test user's cost. Here the same
decision runs in the callback of the process's coarse timer wheel (every user's look
due in one 100 ms slot from one loop timer), and a ping is written from there (a
write never blocks). Only a dead link goes to the supervisor, as its heartbeat timer
firing, where the machine decides again from the same figures and ends the link.
"""

from __future__ import annotations

from collections.abc import Callable

from rtm_actors.client.link import PING, ClientLink
from rtm_actors.protocol.connection import Beat, Timings, heartbeat
from rtm_actors.runtime.timers import COARSE_TICK, PendingCall, call_coarse, now


class LinkHeartbeat:
    """Looks at one link when the heartbeat is due; pings it, or reports it silent."""

    __slots__ = ("_call", "_link", "_on_silent", "timings")

    def __init__(self, link: ClientLink, timings: Timings, on_silent: Callable[[], object]) -> None:
        self._link = link
        #: The heartbeat's interval and timeout (a reconfiguration replaces them).
        self.timings = timings
        #: Called (on the hub: it must not block) once nothing came for the timeout.
        self._on_silent = on_silent
        self._call: PendingCall | None = None

    @property
    def link(self) -> ClientLink:
        """The link this heartbeat looks at."""
        return self._link

    def start(self, delay: float) -> None:
        """Look in ``delay`` seconds (a running look is replaced)."""
        self.stop()
        self._look_in(delay)

    def _look_in(self, delay: float) -> None:
        # At least a slot on: the wheel fires a slot a hair early, so a link quiet for
        # "just under" the interval would be looked at again in the same slot, and
        # again, without the clock moving (a ping up to a slot late is harmless).
        self._call = call_coarse(max(delay, COARSE_TICK), self._look)

    def stop(self) -> None:
        """No more looks."""
        call, self._call = self._call, None
        if call is not None:
            call.close()

    def _look(self) -> None:
        self._call = None
        link = self._link
        if link.closed:
            return  # (its end is on the way to the supervisor)
        at = now()
        beat, delay = heartbeat(at, link.last_rx, link.last_tx, self.timings)
        if beat is Beat.SILENT:
            self._on_silent()
            return
        if beat is Beat.PING:
            link.send(PING)
        self._look_in(delay)
