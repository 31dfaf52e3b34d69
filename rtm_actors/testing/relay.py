"""A relay that loses messages on purpose, as a broken middlebox would.

``DroppingRelay`` forwards websocket connections to a server, as ``CuttableProxy``
does, but reads the server's frames (unmasked, so plain to parse) and holds back every
``every``-th message push of the chosen kinds; replies, login answers, pings and every
other frame pass. It also reads the clients' frames (unmasking them) for their
acknowledgements, so a test learns which dropped pushes a client went on to
acknowledge on the same connection (the SDK never does: see below).

What a drop costs depends on the push:

* A numbered push (a peer message) is not lost: the SDK sees the next push skip its
  number, drops the link without acknowledging past the gap and resumes, and the
  server sends it again (``protocol/push_order.py``).
* A channel message is not numbered per member: one dropped on a live link is lost for
  good (the catch-up after a reconnect is for what a *broken* link missed), and a
  delivery tally must count it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rtm_actors.protocol import codec
from rtm_actors.protocol.errors import RemoteProtocolError
from rtm_actors.protocol.frames import Ack, ChannelMessage, PeerMessage
from rtm_actors.protocol.wsframes import OP_TEXT, payload_span, unmask
from rtm_actors.testing.proxy import CuttableProxy

_HEAD_END = b"\r\n\r\n"
_RECV_BYTES = 65536
#: The message pushes a relay may drop: what a lossy network would lose.
DROPPABLE: tuple[type[Any], ...] = (PeerMessage, ChannelMessage)


@dataclass(slots=True)
class RelayedConnection:
    """What the relay saw of one client connection."""

    number: int
    #: The pushes held back, in order.
    dropped: list[Any] = field(default_factory=list)
    #: The highest ``Ack`` the client sent.
    acked: int = 0
    #: Each (sender, channel) the client has had a message from.
    senders: set[tuple[str, str]] = field(default_factory=set)

    def acknowledged_drops(self) -> int:
        """Dropped numbered pushes that a later ``Ack`` of the client covered."""
        return sum(1 for push in self.dropped if 0 < getattr(push, "seq", 0) <= self.acked)


class FrameCutter:
    """Cuts one direction of a websocket connection into its HTTP head and whole frames.

    ``feed`` answers ``(raw bytes, payload)`` pieces in order: the handshake head and
    every frame other than a final text frame come with a payload of None; a final text
    frame with its payload, unmasked.
    """

    __slots__ = ("_buf", "_in_head")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_head = True

    def feed(self, data: bytes) -> list[tuple[bytes, bytes | None]]:
        """Add ``data``; answer the pieces it completes."""
        buf = self._buf
        buf += data
        pieces: list[tuple[bytes, bytes | None]] = []
        pos = 0
        if self._in_head:
            end = buf.find(_HEAD_END)
            if end < 0:
                return pieces
            pos = end + len(_HEAD_END)
            pieces.append((bytes(buf[:pos]), None))
            self._in_head = False
        end = len(buf)
        while end - pos >= 2:
            start, length = payload_span(buf, pos, end)
            masked = buf[pos + 1] & 0x80
            body = start + 4 if masked else start
            if start < 0 or body + length > end:
                break
            stop = body + length
            payload: bytes | None = None
            if buf[pos] == 0x80 | OP_TEXT:
                payload = bytes(buf[body:stop])
                if masked:
                    payload = unmask(payload, bytes(buf[start:body]))
            pieces.append((bytes(buf[pos:stop]), payload))
            pos = stop
        del buf[:pos]
        return pieces


class DroppingRelay(CuttableProxy):
    """Forwards 127.0.0.1:<port> to ``upstream``, dropping every ``every``-th push of
    ``kinds`` (counted over all connections), at most ``limit`` of them.

    Args:
        upstream_host: the server's host.
        upstream_port: the server's port.
        every: drop the every-th push of ``kinds`` (the first dropped is the every-th).
        kinds: which pushes count: ``PeerMessage``, ``ChannelMessage`` or both.
        limit: drop no more than this many (None: no limit); a test keeps its drops
            early in a run this way, well before the run is tallied.
        sticky: drop a push again each time it comes again (a resume sends it anew),
            however ``limit`` stands, until ``let_through``: a middlebox that loses
            the same frame every time, as one with a frame size limit would.

    A connection's first message from each sender always passes and is not counted: a
    delivery tally holds a receiver that joined a channel late only to the messages
    between the first and the last it got from each sender, and could not see that one
    dropped.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        every: int,
        kinds: tuple[type[Any], ...] = (PeerMessage,),
        limit: int | None = None,
        *,
        sticky: bool = False,
    ) -> None:
        if every < 1 or not kinds or not set(kinds) <= set(DROPPABLE):
            msg = f"every >= 1 and kinds among {[k.__name__ for k in DROPPABLE]}"
            raise ValueError(msg)
        super().__init__(upstream_host, upstream_port)
        self.every = every
        self.kinds = kinds
        self.limit = limit
        self.sticky = sticky
        #: Every connection relayed so far, in the order they came.
        self.connections: list[RelayedConnection] = []
        self._seen = 0
        #: The sticky pushes dropped, by (sender, channel, message id).
        self._lost: set[tuple[str, str, int]] = set()

    @property
    def dropped(self) -> int:
        """Pushes held back so far, over all connections."""
        return sum(len(c.dropped) for c in self.connections)

    def acknowledged_drops(self) -> int:
        """Dropped pushes their clients acknowledged afterwards: lost for good."""
        return sum(c.acknowledged_drops() for c in self.connections)

    def let_through(self) -> None:
        """Drop nothing more from now on: the sticky pushes come through when sent again."""
        self.limit = self.dropped
        self._lost.clear()

    def _pumps(self, client: Any, upstream: Any) -> tuple[Callable[[], None], Callable[[], None]]:
        seen = RelayedConnection(len(self.connections) + 1)
        self.connections.append(seen)
        return (
            lambda: self._client_to_server(client, upstream, seen),
            lambda: self._server_to_client(upstream, client, seen),
        )

    def _server_to_client(self, src: Any, dst: Any, seen: RelayedConnection) -> None:
        cutter = FrameCutter()
        try:
            while data := src.recv(_RECV_BYTES):
                out = [raw for raw, payload in cutter.feed(data) if not self._drops(payload, seen)]
                if out:
                    dst.sendall(b"".join(out))
        except OSError:
            pass

    def _client_to_server(self, src: Any, dst: Any, seen: RelayedConnection) -> None:
        cutter = FrameCutter()
        try:
            while data := src.recv(_RECV_BYTES):
                dst.sendall(data)  # forwarded as it came; only looked at
                for _, payload in cutter.feed(data):
                    frame = _decoded(payload, codec.decode_client_frame)
                    if isinstance(frame, Ack):
                        seen.acked = max(seen.acked, frame.seq)
        except OSError:
            pass

    def _drops(self, payload: bytes | None, seen: RelayedConnection) -> bool:
        frame = _decoded(payload, codec.decode_server_frame)
        if not isinstance(frame, self.kinds):
            return False
        sender = (frame.peer_id, getattr(frame, "channel_id", ""))
        if (*sender, frame.message.id) in self._lost:
            seen.dropped.append(frame)
            return True
        if sender not in seen.senders:
            seen.senders.add(sender)
            return False
        self._seen += 1
        if self._seen % self.every or (self.limit is not None and self.dropped >= self.limit):
            return False
        seen.dropped.append(frame)
        if self.sticky:
            self._lost.add((*sender, frame.message.id))
        return True


def _decoded(payload: bytes | None, decode: Callable[[bytes], Any]) -> Any:
    if payload is None:
        return None
    try:
        return decode(payload)
    except RemoteProtocolError:
        return None  # not ours to judge: forwarded as it came
