"""One websocket as a session sees it: send whole frames, close with a code."""

from __future__ import annotations

import contextlib
import itertools
import socket
from collections.abc import Callable
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


#: A channel's write-only capability on one member's socket: ``write(channel_id,
#: data)`` writes the pre-built frame and answers True, or answers False when the
#: frame must go through the member's session instead. It cannot read or change the
#: session: the channel holds this function, never the session's objects.
MemberWrite = Callable[[str, bytes], bool]


class MemberWriter:
    """Where a channel may write a member's channel messages directly, rather than
    through the member's session actor (the fan-out's measured hot path).

    The session owns it and alone changes it (the link it uses now, the channels it
    is in); a channel gets only the bound ``write``. A channel writes to the member's
    link itself only when that keeps the order the session would have kept: the link
    is a plain socket, the member is still in the channel, and nothing waits in the
    session's inbox (every frame sent through the session earlier, a join reply or a
    replay, is written already). A member too slow for it is cut off by its ``Link``
    (pending bounds, write timeout), whose reader then tells the session.
    """

    __slots__ = ("_channels", "_link", "_waiting")

    def __init__(self, waiting: Callable[[], int]) -> None:
        self._link: Link | None = None
        self._channels: set[str] = set()
        #: How many messages wait in the session's inbox (its ``qsize``).
        self._waiting = waiting

    def write(self, channel_id: str, data: bytes) -> bool:
        """Write ``data`` to the member now if that keeps its order; else False."""
        link = self._link
        if link is None or link.raw is None or channel_id not in self._channels or self._waiting():
            return False
        link.send_frame(data)
        return True

    # -- the owning session's side --------------------------------------------------

    def use(self, link: Link | None) -> None:
        """Write to ``link`` from now on (None: write nothing directly)."""
        self._link = link

    def joined(self, channel_id: str) -> None:
        """The session is in ``channel_id`` (its messages may come here)."""
        self._channels.add(channel_id)

    def left(self, channel_id: str) -> None:
        """The session left ``channel_id``: its messages no longer come here."""
        self._channels.discard(channel_id)
