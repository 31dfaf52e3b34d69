"""The client's websocket on a gevent socket, framed by us; no monkey patching.

``ClientLink.open`` connects and shakes hands in the calling greenlet; ``start``
spawns the reader greenlet, which parses server frames in batches (one ``recv``, every
frame it brought) and hands each message to the ``on_frame`` callback. Sends from any
greenlet never block and go out in one write per event-loop round
(``runtime.round_writer``), so two actors can share the link without interleaving
frames. A general-purpose websocket library cost this link ~11 us per frame and three
system calls per frame out; see ``protocol/wsframes.py``.
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

from rtm_actors.protocol import codec
from rtm_actors.protocol.errors import RemoteProtocolError
from rtm_actors.protocol.frames import AnyServerFrame
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
#: yield first (while this reader yields, an in-process server may pile up megabytes
#: for it and cut it off as slow). Smaller reads wait for readability: no ``recv``
#: that fails with EAGAIN after each batch.
_BACKLOG_READ_BYTES = 16384
#: The largest message the link reads (the codec refuses larger ones anyway).
_MAX_MESSAGE_BYTES = 4 * MAX_FRAME_BYTES
#: Bytes of the server's handshake answer read at most.
_MAX_HANDSHAKE_BYTES = 16384
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


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
        #: Readiness watcher of a plain socket: the reader waits on it, then makes one
        #: ``recv`` (a gevent ``recv`` first tries, and fails, once more per read).
        self._readable: Any = None
        self._ended = gevent.event.Event()

    @classmethod
    def open(cls, url: str, timeout: float, ssl_cafile: str | None = None) -> ClientLink:
        """Connect to ``ws://`` or ``wss://`` ``url`` and complete the handshake."""
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            msg = f"not a websocket url: {url!r}"
            raise LinkOpenError(msg)
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            with gevent.Timeout(timeout, LinkOpenError(f"timed out opening {url}")):
                sock = gevent.socket.create_connection((parts.hostname, port))
                sock.setsockopt(_stdlib_socket.IPPROTO_TCP, _stdlib_socket.TCP_NODELAY, 1)
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
        """Spawn the reader greenlet: every frame to ``on_frame``, then ``on_closed``."""

        def on_frames(link: ClientLink, frames: list[AnyServerFrame]) -> None:
            for frame in frames:
                on_frame(link, frame)

        self.start_batched(on_frames, on_closed)

    def start_batched(
        self,
        on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
        on_closed: Callable[[ClientLink], object],
    ) -> None:
        """Spawn the reader greenlet: the frames of each read, in one list, to
        ``on_frames``; then ``on_closed``."""
        self._reader = gevent.spawn(self._read_loop, on_frames, on_closed)

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
            self._readable = None
            gevent.get_hub().cancel_wait(readable, OSError("link closed"), True)
        self._sock.close()

    def _recv(self, more_likely: bool) -> bytes:
        """The next bytes in; ``more_likely``: the last read was big, so try at once
        rather than wait for the socket to be readable."""
        raw = self._writer.raw
        if raw is None:
            return bytes(self._sock.recv(_RECV_BYTES))
        if more_likely:
            try:
                return bytes(raw.recv(_RECV_BYTES))
            except BlockingIOError:
                pass
        while True:
            readable = self._readable
            if readable is None:
                if self.closed:
                    return b""
                readable = self._readable = gevent.get_hub().loop.io(raw.fileno(), 1)
            gevent.get_hub().wait(readable)
            try:
                return bytes(raw.recv(_RECV_BYTES))
            except BlockingIOError:
                continue

    def _read_loop(
        self,
        on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
        on_closed: Callable[[ClientLink], object],
    ) -> None:
        parser = ServerFrameParser(_MAX_MESSAGE_BYTES)
        try:
            data = self._leftover
            self._leftover = b""
            while True:
                if data:
                    messages = parser.feed(data)
                    for ping in parser.pings:
                        self._writer.write(masked_frame(ping, _mask_keys.next(), OP_PONG))
                    parser.pings.clear()
                    if messages:
                        _deliver(self, messages, on_frames)
                    if parser.close is not None:
                        self.close_code, self.close_reason = parser.close
                        return
                data = self._recv(len(data) >= _BACKLOG_READ_BYTES)
                if not data:
                    return
                self.last_rx = now()
        except (OSError, FramingError, RemoteProtocolError):
            return
        finally:
            self.close()
            self._ended.set()
            on_closed(self)


def _deliver(
    link: ClientLink,
    messages: list[bytes],
    on_frames: Callable[[ClientLink, list[AnyServerFrame]], object],
) -> None:
    frames: list[AnyServerFrame] = []
    try:
        # (``extend`` keeps the frames decoded before one that fails.)
        frames.extend(codec.decode_server_frame(message) for message in messages)
    finally:
        # A malformed frame from the server is a broken link, not a crash: the frames
        # before it still count.
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
