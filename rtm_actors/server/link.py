"""One websocket as a session sees it: send whole frames, close with a code."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.runtime import now
from rtm_actors.server import wsio

_link_ids = itertools.count(1)


class Link:
    """A client's websocket. Writes are complete frames; failures mark it closed."""

    __slots__ = (
        "closed",
        "id",
        "last_rx",
        "peer",
        "raw",
        "sock",
        "stalled",
        "token",
        "write_timeout",
        "ws",
    )

    def __init__(self, ws: Any, peer: str = "", write_timeout: float = 5.0) -> None:
        self.id = next(_link_ids)
        #: Loop time of the last frame read (the gateway updates it).
        self.last_rx = now()
        self.ws = ws
        self.sock = ws.handler.socket
        self.raw = wsio.raw_socket(self.sock)
        self.peer = peer
        self.write_timeout = write_timeout
        #: The checked login token (its expiry drives the session's token timers).
        self.token: Any = None
        self.closed = False
        #: A write could not finish within the write timeout: the client is not reading.
        self.stalled = False

    def send(self, payload: bytes) -> bool:
        """Send one text frame; answer False (and mark closed) if the socket failed."""
        return self.send_frame(wsio.frame(payload))

    def send_frame(self, data: bytes) -> bool:
        """Send a pre-built frame (encode once, send to many)."""
        if self.closed:
            return False
        try:
            wsio.send_all(self.sock, self.raw, data, self.write_timeout)
        except wsio.SlowConsumerError:
            # Stuck past the write timeout: a slow consumer. Cut it off, which also
            # ends the reader greenlet, which reports the link closed.
            self.stalled = True
            self.close(DisconnectCode.SLOW_CONSUMER, "not reading fast enough")
            return False
        except (OSError, AttributeError):
            # Reset or broken pipe; or the stream is already gone.
            self.closed = True
            return False
        return True

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame and shut the socket; the reader greenlet then ends."""
        if self.closed:
            return
        self.closed = True
        if not self.stalled:
            # (A stalled socket has no room for a close frame: just shut it.)
            with contextlib.suppress(OSError, wsio.SlowConsumerError):
                wsio.send_all(self.sock, self.raw, wsio.close_frame(code, reason), 1.0)
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(2)


def link_last_rx(link: Link | None) -> float:
    """When ``link`` last received a frame (now, if there is no link)."""
    return link.last_rx if link is not None else now()
