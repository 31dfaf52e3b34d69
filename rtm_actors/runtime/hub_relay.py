"""``HubRelay``: messages from the hub to actors, told from one greenlet per process.

Code on the hub (a loop timer's callback, a socket's readiness callback) may not run
an actor's turn: a turn may yield, and the hub must never wait. A plain tell from
there queues the message and wakes the receiver's greenlet: a switch there and back
per message, per actor. The relay instead queues ``(actor, message)`` pairs and tells
them, in the order they came, from one greenlet woken once per loop round, with
``tell_or_run_inline``: an idle actor that takes the message inline
(``GeventActor.inline_messages``) handles it right there, with no wake-up of a
greenlet of its own. A thousand users' reads in one loop round then cost one switch,
not a thousand.

A turn taken inline here must never block: it would hold up every message behind it
(timers and reads alike). Actors list as inline only turns that never wait.
"""

from __future__ import annotations

from typing import Any

import gevent
import gevent.event

from rtm_actors.runtime.actor import tell_or_run_inline
from rtm_actors.runtime.refs import MessageT, Ref


class HubRelay:
    """Tells queued messages to their actors, from one greenlet, in the order queued."""

    __slots__ = ("_due", "_wake", "greenlet")

    def __init__(self) -> None:
        self._due: list[tuple[Ref[Any], object]] = []
        self._wake: Any = None
        self.greenlet: Any = None

    def put(self, ref: Ref[MessageT], message: MessageT) -> None:
        """Queue ``message`` for ``ref`` (from the hub, or any greenlet)."""
        self._due.append((ref, message))
        if self.greenlet is None or self.greenlet.dead:  # (dead: a kill cut a turn)
            self._wake = gevent.event.Event()
            self.greenlet = gevent.spawn(self._run)
        else:
            self._wake.set()

    def _run(self) -> None:
        while True:
            due, self._due = self._due, []
            for ref, message in due:
                tell_or_run_inline(ref, message)
            if not self._due:
                self._wake.clear()
                self._wake.wait()


#: The process's relay (every actor lives on the hub's thread).
hub_relay = HubRelay()
