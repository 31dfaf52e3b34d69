"""The client's websocket: wsproto (sans-IO) on a gevent socket, no monkey patching.

``ClientLink.open`` connects and shakes hands in the calling greenlet; ``start``
spawns the reader greenlet, which decodes server frames and hands each to the
``on_frame`` callback. Writes from any greenlet go through one lock, so two actors
can share the link without interleaving frames.
"""

from __future__ import annotations

import contextlib
import itertools
import socket as _stdlib_socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.event
import gevent.lock
import gevent.socket
import gevent.ssl
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import (
    LocalProtocolError as WsLocalProtocolError,
    RemoteProtocolError as WsRemoteProtocolError,
)

from rtm_actors.protocol import codec
from rtm_actors.protocol.errors import RemoteProtocolError
from rtm_actors.protocol.frames import AnyServerFrame
from rtm_actors.runtime.timers import now

_link_ids = itertools.count(1)
_RECV_BYTES = 65536


class LinkOpenError(OSError):
    """The websocket could not be opened (refused, bad handshake, timeout)."""


class ClientLink:
    """One open websocket to the server."""

    def __init__(self, sock: Any, ws: WSConnection, leftover: list[Any]) -> None:
        self.id = next(_link_ids)
        self._sock = sock
        self._ws = ws
        self._leftover = leftover
        self._lock = gevent.lock.Semaphore()
        self.closed = False
        #: Loop time of the last frame received (the heartbeat reads it).
        self.last_rx = now()
        #: Close code the server gave, if it closed the link with one.
        self.close_code: int | None = None
        self.close_reason = ""
        self._reader: Any = None
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
                ws = WSConnection(ConnectionType.CLIENT)
                target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                sock.sendall(ws.send(Request(host=parts.netloc, target=target)))
                leftover = _handshake(sock, ws)
        except OSError as exc:
            raise LinkOpenError(str(exc)) from exc
        return cls(sock, ws, leftover)

    def start(
        self,
        on_frame: Callable[[ClientLink, AnyServerFrame], object],
        on_closed: Callable[[ClientLink], object],
    ) -> None:
        """Spawn the reader greenlet: every frame to ``on_frame``, then ``on_closed``."""
        self._reader = gevent.spawn(self._read_loop, on_frame, on_closed)

    def send(self, payload: bytes) -> bool:
        """Send one text frame; answer False if the link is (now) closed."""
        if self.closed:
            return False
        with self._lock:
            try:
                self._sock.sendall(self._ws.send(TextMessage(data=payload.decode())))
            except (OSError, WsLocalProtocolError):
                failed = True
            else:
                failed = False
        if failed:
            self.close()  # outside the lock: close() takes it too
        return not failed

    def wait_ended(self, timeout: float) -> bool:
        """Wait until the reader has seen the link end (the server closed it)."""
        return bool(self._ended.wait(timeout))

    def close(self, code: int = 1000) -> None:
        """Close the websocket and the socket; the reader then reports the end."""
        if self.closed:
            return
        self.closed = True
        try:
            with gevent.Timeout(1.0, False), self._lock:  # type: ignore[arg-type]
                self._sock.sendall(self._ws.send(CloseConnection(code=code)))
        except (OSError, WsLocalProtocolError):
            pass
        with contextlib.suppress(OSError):
            self._sock.shutdown(_stdlib_socket.SHUT_RDWR)
        self._sock.close()

    def _read_loop(
        self,
        on_frame: Callable[[ClientLink, AnyServerFrame], object],
        on_closed: Callable[[ClientLink], object],
    ) -> None:
        ws = self._ws
        texts: list[str] = []
        try:
            pending = self._leftover
            while True:
                for event in pending:
                    if isinstance(event, TextMessage):
                        texts.append(event.data)
                        if event.message_finished:
                            data = texts[0] if len(texts) == 1 else "".join(texts)
                            texts.clear()
                            self._deliver(data, on_frame)
                    elif isinstance(event, BytesMessage):
                        if event.message_finished:
                            self._deliver(bytes(event.data), on_frame)
                    elif isinstance(event, Ping):
                        with self._lock:
                            self._sock.sendall(ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        self.close_code = event.code
                        self.close_reason = event.reason or ""
                        return
                data = self._sock.recv(_RECV_BYTES)
                if not data:
                    return
                self.last_rx = now()
                ws.receive_data(data)
                pending = list(ws.events())
        except (
            OSError,
            WsRemoteProtocolError,
            WsLocalProtocolError,
            RemoteProtocolError,
        ):
            return
        finally:
            self.close()
            self._ended.set()
            on_closed(self)

    def _deliver(
        self, data: str | bytes, on_frame: Callable[[ClientLink, AnyServerFrame], object]
    ) -> None:
        # A malformed frame from the server is a broken link, not a crash.
        on_frame(self, codec.decode_server_frame(data))


def _tls_context(cafile: str | None) -> Any:
    """A verifying client context of gevent's own class, so its sockets yield instead of
    blocking (``gevent.ssl.create_default_context`` returns the stdlib's)."""
    context = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies host and chain
    if cafile:
        context.load_verify_locations(cafile)
    else:
        context.load_default_certs()
    return context


def _handshake(sock: Any, ws: WSConnection) -> list[Any]:
    while True:
        data = sock.recv(_RECV_BYTES)
        if not data:
            msg = "server closed during the websocket handshake"
            raise LinkOpenError(msg)
        ws.receive_data(data)
        events = list(ws.events())
        for i, event in enumerate(events):
            if isinstance(event, AcceptConnection):
                return events[i + 1 :]
            if isinstance(event, RejectConnection):
                msg = f"websocket refused with HTTP {event.status_code}"
                raise LinkOpenError(msg)
