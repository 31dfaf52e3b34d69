"""One websocket as a session sees it: send whole frames, close with a code."""

from __future__ import annotations

import contextlib
import itertools
import socket
from typing import Any

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import ConnectionChangeReason, DisconnectCode
from rtm_actors.protocol.frames import Kick
from rtm_actors.runtime import now
from rtm_actors.runtime.round_writer import MAX_HELD_FRAMES as MAX_HELD_FRAMES, RoundWriter
from rtm_actors.server import wsio

_link_ids = itertools.count(1)


class Link:
    """A client's websocket. Writes are complete frames; failures mark it closed.

    Any greenlet may send on a link, and sending never blocks the sender: frames go
    out through a ``RoundWriter`` (one write per event-loop round on a plain socket;
    what the socket cannot take waits, in order, for a flusher greenlet). So a channel
    can write its members' frames itself, between the frames their sessions write,
    and a member that does not read holds up nobody but itself: more than
    ``max_pending`` frames or ``max_pending_bytes`` bytes waiting (a frame may be 256
    KiB: a count alone would let one socket hold a gigabyte), or a write stuck past
    ``write_timeout``, cut it off as a slow consumer.
    """

    __slots__ = (
        "__weakref__",  # its writer calls back through a weak method (no cycle)
        "_writer",
        "closed",
        "id",
        "idle",
        "last_rx",
        "peer",
        "raw",
        "sock",
        "stalled",
        "token",
        "ws",
    )

    def __init__(
        self,
        ws: Any,
        peer: str = "",
        write_timeout: float = 5.0,
        max_pending: int = 5000,
        max_pending_bytes: int = 4 << 20,
    ) -> None:
        self.id = next(_link_ids)
        #: Loop time of the last frame read (the gateway updates it).
        self.last_rx = now()
        self.ws = ws
        self.sock = ws.handler.socket
        self._writer = RoundWriter(
            self.sock, self._write_failed, max_pending_bytes, max_pending, write_timeout
        )
        self.raw = self._writer.raw
        self.peer = peer
        #: The checked login token (its expiry drives the session's token timers).
        self.token: Any = None
        self.closed = False
        #: A write could not finish within the write timeout: the client is not reading.
        self.stalled = False
        #: Silent past the idle timeout: ``expire`` ended its reads.
        self.idle = False

    def send(self, payload: bytes) -> bool:
        """Send one text frame; answer False (and mark closed) if the socket failed."""
        return self.send_frame(wsio.frame(payload))

    def send_frame(self, data: bytes) -> bool:
        """Send a pre-built frame (encode once, send to many), in order, without blocking."""
        if self.closed:
            return False
        return self._writer.write(data)

    def _write_failed(self, stalled: bool) -> None:
        if stalled:
            self._cut_off()
        else:
            self.closed = True  # reset or broken pipe: the reader sees the end too

    def _cut_off(self) -> None:
        # Stuck past the write timeout, or too far behind: a slow consumer. Cut it off,
        # which also ends the reader greenlet, which reports the link closed.
        self.stalled = True
        if self.closed:
            self._shut()
        else:
            self.close(DisconnectCode.SLOW_CONSUMER, "not reading fast enough")

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame (after the frames still waiting) and shut the socket; the
        reader greenlet then ends."""
        if self.closed:
            return
        writer = self._writer
        writer.write_held()
        self.closed = True
        if self.stalled:
            # (A stalled socket has no room for a close frame: just shut it.)
            self._shut()
            return
        if writer.finish_with(wsio.close_frame(code, reason), self._shut):
            return
        with contextlib.suppress(OSError, wsio.SlowConsumerError):
            wsio.send_all(self.sock, self.raw, wsio.close_frame(code, reason), 1.0)
        self._shut()

    def expire(self) -> None:
        """The link was silent too long: end its reads (the reader sees EOF and reports
        an idle timeout). No close frame, as before: the client just sees it end."""
        self.idle = True
        with contextlib.suppress(OSError, AttributeError):
            self.sock.shutdown(socket.SHUT_RD)

    def _shut(self) -> None:
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(2)


def close_taken_over(link: Link) -> None:
    """This login lost to a newer one of the same user: say so, then close."""
    link.send(codec.encode(Kick(ConnectionChangeReason.REMOTE_LOGIN)))
    link.close(DisconnectCode.REMOTE_LOGIN, "REMOTE_LOGIN")


class Outlet:
    """Where a session's frames go right now, so that a channel can write its messages
    to members directly rather than through each member's session actor.

    A channel writes to the member's link itself only when that keeps the order the
    session would have kept: the link is a plain socket, the member is still in the
    channel, and nothing waits in the session's inbox (every frame sent through the
    session earlier, a join reply or a replay, is written already).
    """

    __slots__ = ("channels", "inbox", "link", "metrics")

    def __init__(self, metrics: Any, inbox: Any = None) -> None:
        self.link: Link | None = None
        #: The session's channels (channel id -> channel ref).
        self.channels: Any = ()
        self.inbox = inbox
        #: The node's ``ServerMetrics`` (channel deliveries are counted where written).
        self.metrics = metrics

    def direct(self, channel_id: str) -> Link | None:
        """The link to write ``channel_id``'s messages to now, or None: go through the
        session."""
        link = self.link
        if (
            link is None
            or link.raw is None
            or channel_id not in self.channels
            or (self.inbox is not None and self.inbox.qsize())
        ):
            return None
        return link


def link_last_rx(link: Link | None) -> float:
    """When ``link`` last received a frame (now, if there is no link)."""
    return link.last_rx if link is not None else now()
