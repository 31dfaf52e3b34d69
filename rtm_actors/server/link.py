"""One websocket as a session sees it: send whole frames, close with a code."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

from rtm_actors.runtime import now
from rtm_actors.server import wsio

_link_ids = itertools.count(1)


class Link:
    """A client's websocket. Writes are complete frames; failures mark it closed."""

    __slots__ = ("closed", "id", "last_rx", "peer", "ws")

    def __init__(self, ws: Any, peer: str = "") -> None:
        self.id = next(_link_ids)
        #: Loop time of the last frame read (the gateway updates it).
        self.last_rx = now()
        self.ws = ws
        self.peer = peer
        self.closed = False

    def send(self, payload: bytes) -> bool:
        """Send one text frame; answer False (and mark closed) if the socket failed."""
        return self.send_frame(wsio.frame(payload))

    def send_frame(self, data: bytes) -> bool:
        """Send a pre-built frame (encode once, send to many)."""
        if self.closed:
            return False
        try:
            self.ws.stream.write(data)
        except (OSError, AttributeError):
            # OSError: reset, broken pipe, or a write stuck past the socket timeout
            # (a slow consumer). AttributeError: the stream is already gone.
            self.closed = True
            return False
        return True

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame and shut the socket; the reader greenlet then ends."""
        if self.closed:
            return
        self.closed = True
        stream = self.ws.stream
        try:
            if stream is not None:
                stream.write(wsio.close_frame(code, reason))
        except OSError:
            pass
        sock = getattr(getattr(self.ws, "handler", None), "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(2)


def link_last_rx(link: Link | None) -> float:
    """When ``link`` last received a frame (now, if there is no link)."""
    return link.last_rx if link is not None else now()
