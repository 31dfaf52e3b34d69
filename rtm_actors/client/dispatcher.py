"""``EventDispatcher``: runs an ``RtmService``'s callbacks, one at a time, in order.

Its own greenlet, so a callback that blocks (even on another SDK future) holds up
only later callbacks, never the actors that produce results. Services configured
with ``shared_dispatcher`` share one (``shared_dispatcher()``): each service's
callbacks still run one at a time and in order.
"""

from __future__ import annotations

from typing import Any

import pykka
import structlog

from rtm_actors.client.messages import Callback
from rtm_actors.runtime import GeventActor

log = structlog.get_logger("rtm_actors.client")


class EventDispatcher(GeventActor):
    """One per ``RtmService`` (or one shared): the single greenlet callbacks run on."""

    shutdown_tier = 20

    def on_receive(self, message: Any) -> None:
        match message:
            case Callback(handler=handler, method=method, args=args):
                try:
                    getattr(handler, method)(*args)
                except Exception:
                    # The application's bug must not stop its later callbacks.
                    log.exception("callback_raised", callback=method)


_shared: list[pykka.ActorRef[EventDispatcher]] = []


def shared_dispatcher() -> pykka.ActorRef[EventDispatcher]:
    """The process's shared dispatcher, started at first use (again after a stop)."""
    if not _shared or _shared[0].actor_stopped.is_set():
        _shared[:] = [EventDispatcher.start()]
    return _shared[0]
