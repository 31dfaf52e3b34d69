"""The client's websocket on a gevent socket, framed by us; no monkey patching.

``ClientLink.open`` connects and shakes hands in the calling greenlet; ``start``
begins reading: server frames are parsed in batches (one ``recv``, every frame it
brought) and handed to the ``on_frame`` callback. Sends from any greenlet never block
and go out in one write per event-loop round (``runtime.round_writer``), so two actors
can share the link without interleaving frames. A general-purpose websocket library
cost this link ~11 us per frame and three system calls per frame out; see
``protocol/wsframes.py``.

On a plain socket the link reads *on the hub*: a readiness watcher's callback makes
the ``recv``, parses, answers pings and calls back, with no greenlet of the link's own
(a parked reader greenlet was ~5 KiB per user; its wake-up a switch per read). So the
callbacks run on the hub and must never block: hand the frames to an actor, as
``ConnectionSupervisor`` does through the process's ``HubRelay`` (one greenlet that
runs the service actor's turn inline, every link's read of a loop round in one
wake-up). ``start_batched(drop_pongs=True)`` drops the server's
answers to heartbeat pings right there (the link has noted the traffic, which is all
a pong says). Under TLS, where a read may need a write first, a reader greenlet reads.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import os
import socket as _stdlib_socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.event
import gevent.socket
import gevent.ssl

from rtm_actors.keepalive import keep_alive
from rtm_actors.protocol import codec
from rtm_actors.protocol.errors import RemoteProtocolError
from rtm_actors.protocol.frames import AnyServerFrame, Ping, Pong
from rtm_actors.protocol.limits import MAX_FRAME_BYTES
from rtm_actors.protocol.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_PONG,
    OP_TEXT,
    FramingError,
    ServerFrameParser,
    close_payload,
    masked_frame,
)
from rtm_actors.runtime.round_writer import RoundWriter
from rtm_actors.runtime.timers import now

_link_ids = itertools.count(1)
_RECV_BYTES = 65536
#: A read this big means a backlog is streaming in: read again at once rather than
#: wait for the next loop round (meanwhile an in-process server may pile up megabytes
#: for this link and cut it off as slow). Smaller reads wait for readability: no
#: ``recv`` that fails with EAGAIN after each batch.
_BACKLOG_READ_BYTES = 16384
#: The largest message the link reads (the codec refuses larger ones anyway).
_MAX_MESSAGE_BYTES = 4 * MAX_FRAME_BYTES
#: Bytes of the server's handshake answer read at most.
_MAX_HANDSHAKE_BYTES = 16384
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: A server that answers nothing at the TCP level (no data, no ACK) for this long is
#: gone: the kernel ends the link (``keepalive.py``), as the 6 s heartbeat timeout did
#: before the heartbeat slowed to 10 s. ``open`` reads it at each call.
KEEPALIVE_TIMEOUT = 6.0


#: The heartbeat's ping, and the server's answer, as sent: the same bytes every time
#: (their timestamp is left 0: nothing reads the answer's), so a pong can be dropped
#: unread.
PING = codec.encode(Ping())
PONG = codec.encode(Pong())


class LinkOpenError(OSError):
    """The websocket could not be opened (refused, bad handshake, timeout)."""


class MaskKeys:
    """RFC 6455 mask keys for client frames, from one random read per 1,024 keys
    (``os.urandom`` per frame was a ``getrandom`` system call per message)."""

    __slots__ = ("_keys", "_pos", "_size")

    def __init__(self, keys: int = 1024) -> None:
        self._size = 4 * keys
        self._keys = b""
        self._pos = self._size

    def next(self) -> bytes:
        """A fresh, unpredictable 4-byte key."""
        pos = self._pos
        if pos >= self._size:
            self._keys = os.urandom(self._size)
            pos = 0
        self._pos = pos + 4
        return self._keys[pos : pos + 4]


_mask_keys = MaskKeys()


class ClientLink:
    """One open websocket to the server."""

    def __init__(self, sock: Any, leftover: bytes) -> None:
        self.id = next(_link_ids)
        self._sock = sock
        self._leftover = leftover
        self._writer = RoundWriter(sock, self._write_failed)
        self.closed = False
        #: Loop time of the last frame received, and sent (the heartbeat reads them).
        self.last_rx = now()
        self.last_tx = self.last_rx
        #: Close code the server gave, if it closed the link with one.
        self.close_code: int | None = None
        self.close_reason = ""
        self._reader: Any = None
        #: Readiness watcher of a plain socket: its callback reads on the hub.
        self._readable: Any = None
        #: Reading on the hub (a plain socket): what it needs between callbacks.
        self._hub_read: _HubRead | None = None
        self._ended = gevent.event.Event()

    @classmethod
    def open(
        cls,
        url: str,
        timeout: float,
        ssl_cafile: str | None = None,
        keepalive_timeout: float | None = None,
    ) -> ClientLink:
        """Connect to ``ws://`` or ``wss://`` ``url`` and complete the handshake;
        ``keepalive_timeout`` (default ``KEEPALIVE_TIMEOUT``, 0: none) bounds how long a
        dead server or network goes unnoticed."""
        if keepalive_timeout is None:
            keepalive_timeout = KEEPALIVE_TIMEOUT
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            msg = f"not a websocket url: {url!r}"
            raise LinkOpenError(msg)
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            with gevent.Timeout(timeout, LinkOpenError(f"timed out opening {url}")):
                sock = gevent.socket.create_connection((parts.hostname, port))
                sock.setsockopt(_stdlib_socket.IPPROTO_TCP, _stdlib_socket.TCP_NODELAY, 1)
                keep_alive(sock, keepalive_timeout)
                if parts.scheme == "wss":
                    sock = _tls_context(ssl_cafile).wrap_socket(
                        sock, server_hostname=parts.hostname
                    )
                target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                leftover = _handshake(sock, parts.netloc, target)
        except OSError as exc:
            raise LinkOpenError(str(exc)) from exc
        return cls(sock, leftover)

    def start(
        self,
        on_frame: Callable[[ClientLink, AnyServerFrame], object],
        on_closed: Callable[[ClientLink], object],
    ) -> None:
        """Start reading: every frame to ``on_frame``, then ``on_closed`` (on the hub, as
        with ``start_batched``)."""

        def on_frames(link: ClientLink, frames: list[AnyServerFrame]) -> None:
            for frame in frames:
                on_frame(link, frame)

        self.start_batched(on_frames, on_closed)

    def start_batched(
        self,
        on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
        on_closed: Callable[[ClientLink], object],
        *,
        drop_pongs: bool = False,
    ) -> None:
        """Start reading: the frames of each read, in one list, to ``on_frames``; then
        ``on_closed``. On a plain socket both are called on the hub (never block in
        them); ``drop_pongs``: leave the server's ``Pong`` frames out."""
        raw = self._writer.raw
        if raw is None:
            self._reader = gevent.spawn(self._read_loop, on_frames, on_closed, drop_pongs)
            return
        self._hub_read = _HubRead(on_frames, on_closed, drop_pongs)
        loop = gevent.get_hub().loop
        watcher = self._readable = loop.io(raw.fileno(), 1)
        watcher.start(self._on_readable)
        if self._leftover:
            # Frames the server sent right behind its handshake answer: first, on the
            # hub too (callbacks run before the loop next polls for readiness).
            loop.run_callback(self._on_readable)

    def _on_readable(self) -> None:
        """The socket is readable (or frames were left over): read, parse and hand the
        frames on, all on the hub; a read so big that a backlog is streaming in is
        followed by another at once, until the backlog is drained."""
        hub_read = self._hub_read
        if hub_read is None or hub_read.ended:
            return
        raw = self._writer.raw
        try:
            while True:
                data = self._leftover
                if data:
                    self._leftover = b""
                else:
                    try:
                        data = raw.recv(_RECV_BYTES)
                    except BlockingIOError:
                        return
                    if not data:
                        self._end_hub_read()
                        return
                    self.last_rx = now()
                if self._take(hub_read.parser, data, hub_read.on_frames, hub_read.drop_pongs):
                    self._end_hub_read()
                    return
                if len(data) < _BACKLOG_READ_BYTES:
                    return
        except (OSError, FramingError, RemoteProtocolError):
            self._end_hub_read()
        except BaseException:
            self._end_hub_read()
            raise

    def _take(
        self,
        parser: ServerFrameParser,
        data: bytes,
        on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
        drop_pongs: bool,
    ) -> bool:
        """Parse ``data``, answer pings, hand the messages on; answer whether the
        server closed the websocket."""
        messages = parser.feed(data)
        if parser.pings:
            for ping in parser.pings:
                self._writer.write(masked_frame(ping, _mask_keys.next(), OP_PONG))
            parser.pings.clear()
        if messages:
            if drop_pongs and PONG in messages:
                messages = [message for message in messages if message != PONG]
            _deliver(self, messages, on_frames, drop_pongs)
        if parser.close is not None:
            self.close_code, self.close_reason = parser.close
            return True
        return False

    def _end_hub_read(self) -> None:
        """The hub reader's end: once, close the link and report it."""
        hub_read = self._hub_read
        if hub_read is None or hub_read.ended:
            return
        hub_read.ended = True
        self.close()
        self._ended.set()
        hub_read.on_closed(self)

    def send(self, payload: bytes) -> bool:
        """Send one text frame; answer False if the link is (now) closed."""
        return self.send_frame(payload, OP_TEXT)

    def send_frame(self, payload: bytes, opcode: int = OP_BINARY) -> bool:
        """Send one frame of any opcode (tests send what a client should not)."""
        if self.closed:
            return False
        self.last_tx = now()
        return self._writer.write(masked_frame(payload, _mask_keys.next(), opcode))

    def _write_failed(self, _stalled: bool) -> None:
        # Broken, or the server stopped reading (16 MiB waiting): the link is dead.
        with contextlib.suppress(OSError):
            self.close()

    def wait_ended(self, timeout: float) -> bool:
        """Wait until the reader has seen the link end (the server closed it)."""
        return bool(self._ended.wait(timeout))

    def close(self, code: int = 1000) -> None:
        """Close the websocket and the socket; the reader then reports the end."""
        if self.closed:
            return
        self.closed = True
        writer = self._writer
        writer.write_held()
        if writer.idle and writer.raw is not None:
            # Best effort, never blocking: the server learns why, if the socket has room.
            with contextlib.suppress(OSError):
                writer.raw.send(masked_frame(close_payload(code), _mask_keys.next(), OP_CLOSE))
        with contextlib.suppress(OSError):
            self._sock.shutdown(_stdlib_socket.SHUT_RDWR)
        readable = self._readable
        if readable is not None:
            # (Closed before the socket is: a watcher must not outlive its fd.)
            self._readable = None
            readable.close()
        hub_read = self._hub_read
        if hub_read is not None and not hub_read.ended:
            # Reported from the hub, a moment later, as a reader greenlet would.
            gevent.get_hub().loop.run_callback(self._end_hub_read)
        # (A TLS reader greenlet waiting in ``recv`` is woken by the close, with an error.)
        self._sock.close()

    def _read_loop(
        self,
        on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
        on_closed: Callable[[ClientLink], object],
        drop_pongs: bool,
    ) -> None:
        # The reader greenlet (TLS).
        parser = ServerFrameParser(_MAX_MESSAGE_BYTES)
        try:
            data = self._leftover
            self._leftover = b""
            while True:
                if data and self._take(parser, data, on_frames, drop_pongs):
                    return
                data = bytes(self._sock.recv(_RECV_BYTES))
                if not data:
                    return
                self.last_rx = now()
        except (OSError, FramingError, RemoteProtocolError):
            return
        finally:
            self.close()
            self._ended.set()
            on_closed(self)


class _HubRead:
    """A link's reading on the hub: its parser, its callbacks, whether it ended."""

    __slots__ = ("drop_pongs", "ended", "on_closed", "on_frames", "parser")

    def __init__(
        self,
        on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
        on_closed: Callable[[ClientLink], object],
        drop_pongs: bool,
    ) -> None:
        self.parser = ServerFrameParser(_MAX_MESSAGE_BYTES)
        self.on_frames = on_frames
        self.on_closed = on_closed
        self.drop_pongs = drop_pongs
        self.ended = False


def _deliver(
    link: ClientLink,
    messages: list[bytes],
    on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
    drop_pongs: bool,
) -> None:
    frames: list[AnyServerFrame] = []
    try:
        # (``extend`` keeps the frames decoded before one that fails.)
        frames.extend(codec.decode_server_frame(message) for message in messages)
    finally:
        # A malformed frame from the server is a broken link, not a crash: the frames
        # before it still count.
        if drop_pongs:
            frames = [frame for frame in frames if type(frame) is not Pong]
        if frames:
            on_frames(link, frames)


def _tls_context(cafile: str | None) -> Any:
    """A verifying client context of gevent's own class, so its sockets yield instead of
    blocking (``gevent.ssl.create_default_context`` returns the stdlib's)."""
    context = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies host and chain
    if cafile:
        context.load_verify_locations(cafile)
    else:
        context.load_default_certs()
    return context


def _handshake(sock: Any, host: str, target: str) -> bytes:
    """Send the upgrade request, check the answer (RFC 6455 4.1); answer the bytes
    read past it (frames the server sent right behind its 101)."""
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
        % (target.encode(), host.encode(), key)
    )
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > _MAX_HANDSHAKE_BYTES:
            msg = "websocket handshake answer too long"
            raise LinkOpenError(msg)
        chunk = sock.recv(4096)
        if not chunk:
            msg = "server closed during the websocket handshake"
            raise LinkOpenError(msg)
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = status_line.split(" ", 2)
    if len(status) < 2 or status[1] != "101":
        code = status[1] if len(status) > 1 else "?"
        msg = f"websocket refused with HTTP {code}"
        raise LinkOpenError(msg)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    # SHA-1 because RFC 6455 says so; it proves a websocket server answered, no more.
    accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest()).decode()
    if (
        headers.get("upgrade", "").lower() != "websocket"
        or headers.get("sec-websocket-accept") != accept
    ):
        msg = "bad websocket handshake answer"
        raise LinkOpenError(msg)
    return rest
