"""One websocket as a session sees it: send whole frames, close with a code."""

from __future__ import annotations

import contextlib
import itertools
import socket
from typing import Any

import gevent

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import ConnectionChangeReason, DisconnectCode
from rtm_actors.protocol.frames import Kick
from rtm_actors.runtime import now
from rtm_actors.server import wsio

_link_ids = itertools.count(1)
#: A link writes what it holds for the end of the round once this many frames wait.
MAX_HELD_FRAMES = 64


class Link:
    """A client's websocket. Writes are complete frames; failures mark it closed.

    Any greenlet may send on a link, and sending never blocks the sender: a frame the
    socket takes at once is written there and then (one non-blocking ``send``); one it
    cannot take waits, with every frame sent after it, for a flusher greenlet that
    writes them in order. So a channel can write its members' frames itself, between
    the frames their sessions write, and a member that does not read holds up nobody
    but itself: more than ``max_pending`` frames or ``max_pending_bytes`` bytes
    waiting (a frame may be 256 KiB: a count alone would let one socket hold a
    gigabyte), or a write stuck past ``write_timeout``, cut it off as a slow consumer.

    On a plain socket every frame sent while the event loop runs one round (the
    greenlets it woke, one after another) goes out in one write when the round ends:
    the frames a user gets from many senders at once cost one system call, whoever
    sent them. On TLS, whose writes may block, every write goes by the flusher.
    """

    __slots__ = (
        "_close_after_flush",
        "_held",
        "_pending",
        "_pending_bytes",
        "closed",
        "id",
        "idle",
        "last_rx",
        "max_pending",
        "max_pending_bytes",
        "peer",
        "raw",
        "sock",
        "stalled",
        "token",
        "write_timeout",
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
        self.raw = wsio.raw_socket(self.sock)
        self.peer = peer
        self.write_timeout = write_timeout
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        #: The checked login token (its expiry drives the session's token timers).
        self.token: Any = None
        self.closed = False
        #: A write could not finish within the write timeout: the client is not reading.
        self.stalled = False
        #: Silent past the idle timeout: ``expire`` ended its reads.
        self.idle = False
        #: Frames waiting for the flusher (None: no flusher, the socket takes writes).
        self._pending: list[bytes] | None = None
        #: Bytes waiting for the flusher, with those of the write it is in.
        self._pending_bytes = 0
        self._close_after_flush = False
        #: Frames sent during this round of the event loop (None: none yet).
        self._held: list[bytes] | None = None

    def send(self, payload: bytes) -> bool:
        """Send one text frame; answer False (and mark closed) if the socket failed."""
        return self.send_frame(wsio.frame(payload))

    def send_frame(self, data: bytes) -> bool:
        """Send a pre-built frame (encode once, send to many), in order, without blocking."""
        if self.closed:
            return False
        pending = self._pending
        if pending is not None:
            self._pending_bytes += len(data)
            if len(pending) >= self.max_pending or self._pending_bytes > self.max_pending_bytes:
                self._cut_off()
                return False
            pending.append(data)
            return True
        held = self._held
        if held is not None:
            held.append(data)
            if len(held) >= MAX_HELD_FRAMES:
                self._write_held()
            return True
        if self.raw is None:
            # TLS: a write may block, so the flusher greenlet does them all.
            self._pending = [data]
            self._pending_bytes = len(data)
            gevent.spawn(self._flush)
            return True
        self._held = [data]
        _run_when_round_ends(self._write_held)
        return True

    def _write_held(self) -> None:
        """Write, in one write, the frames sent since the event loop's round began."""
        held = self._held
        if held is None:
            return
        self._held = None
        if not self.closed:
            self._write(held[0] if len(held) == 1 else b"".join(held))

    def _write(self, data: bytes) -> bool:
        try:
            sent = self.raw.send(data)
        except BlockingIOError:
            sent = 0
        except (OSError, AttributeError):
            # Reset or broken pipe; or the socket is already gone.
            self.closed = True
            return False
        if sent < len(data):
            # The socket's buffer is full: the rest, and all after it, go by the flusher.
            self._pending = [data[sent:]]
            self._pending_bytes = len(data) - sent
            gevent.spawn(self._flush)
        return True

    def _flush(self) -> None:
        """Write the waiting frames in order, each batch within the write timeout."""
        pending = self._pending
        try:
            while pending:
                data = b"".join(pending)
                pending.clear()
                with gevent.Timeout(self.write_timeout, wsio.SlowConsumerError):
                    self.sock.sendall(data)
                self._pending_bytes -= len(data)
        except wsio.SlowConsumerError:
            self._pending = None
            self._cut_off()
            return
        except (OSError, AttributeError):
            self.closed = True
        self._pending = None
        if self._close_after_flush:
            self._shut()

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
        self._write_held()
        self.closed = True
        if self._pending is not None and not self.stalled:
            self._pending.append(wsio.close_frame(code, reason))
            self._close_after_flush = True
            return
        if not self.stalled:
            # (A stalled socket has no room for a close frame: just shut it.)
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


def _run_when_round_ends(callback: Any) -> None:
    # A hub callback: it runs once the greenlets woken this round have yielded.
    # (``_write`` never blocks on a plain socket, so running in the hub is safe.)
    gevent.get_hub().loop.run_callback(callback)


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
