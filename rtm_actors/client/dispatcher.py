"""``EventDispatcher``: runs an ``RtmService``'s callbacks, one at a time, in order.

Its own greenlet, so a callback that blocks (even on another SDK future) holds up
only later callbacks, never the actors that produce results.
"""

from __future__ import annotations

from typing import Any

import structlog

from rtm_actors.client.messages import Callback
from rtm_actors.runtime import GeventActor

log = structlog.get_logger("rtm_actors.client")


class EventDispatcher(GeventActor):
    """One per ``RtmService``: the single greenlet callbacks run on."""

    shutdown_tier = 20

    def on_receive(self, message: Any) -> None:
        match message:
            case Callback(handler=handler, method=method, args=args):
                try:
                    getattr(handler, method)(*args)
                except Exception:
                    # The application's bug must not stop its later callbacks.
                    log.exception("callback_raised", callback=method)
