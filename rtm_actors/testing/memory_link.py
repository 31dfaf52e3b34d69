"""A websocket without a port: the two ends of a connected socket pair, one shaped as
the server reads a websocket and one as the SDK's ``ClientLink``; as h11 and trio ship
in-memory streams.

The server's gateway, ``Link`` and ``FrameReader`` and the client's ``ClientLink`` run
unchanged on them, at full speed and with no handshake (the objects are built
directly): ``serve_in_memory(gateway)`` answers a client link to a session of that
gateway, and ``FrameClient`` sends and records frames on it for a test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, BinaryIO, cast

import gevent
import gevent.socket

from rtm_actors.client.link import ClientLink
from rtm_actors.protocol import codec
from rtm_actors.protocol.frames import AnyServerFrame, ClientFrame, Login, LoginOk
from rtm_actors.server.gateway import Gateway
from rtm_actors.testing.recorder import wait_until


class MemoryHandler:
    """What the server reads of gevent-websocket's handler: its socket and reader."""

    __slots__ = ("rfile", "socket")

    def __init__(self, sock: Any) -> None:
        self.socket = sock
        self.rfile: BinaryIO = sock.makefile("rb")


class MemoryWebSocket:
    """The server's end of a memory link, as the gateway, ``Link`` and ``FrameReader``
    use a gevent-websocket ``WebSocket``: ``handler.socket``, ``handler.rfile`` and
    ``closed``."""

    __slots__ = ("closed", "handler")

    def __init__(self, sock: Any) -> None:
        self.handler = MemoryHandler(sock)
        self.closed = False

    def close(self) -> None:
        """Release the socket, as gevent.pywsgi does once the app returns."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.handler.rfile.close()  # (it holds the socket open otherwise)
            self.handler.socket.close()


def memory_link_pair() -> tuple[MemoryWebSocket, ClientLink]:
    """A connected pair: the server's websocket and the client's link (not yet started).

    The ends are a gevent ``socketpair`` (a Unix socket pair: no port, no handshake),
    so reads, writes, backpressure and closes behave as a socket's do.
    """
    server_end, client_end = gevent.socket.socketpair()
    return MemoryWebSocket(server_end), ClientLink(client_end, b"")


def serve_in_memory(gateway: Gateway, peer: str = "memory") -> ClientLink:
    """A client link served by ``gateway`` (``RtmServer.wsgi_app``: no listening socket)
    in a greenlet of its own, as the gateway serves a websocket it accepted."""
    ws, link = memory_link_pair()
    gevent.spawn(_serve, gateway, ws, peer)
    return link


def _serve(gateway: Gateway, ws: MemoryWebSocket, peer: str) -> None:
    try:
        gateway.serve(ws, peer)
    finally:
        ws.close()


class FrameClient:
    """A client speaking frames directly on a ``ClientLink``: it sends what a test
    wants (as the SDK would not) and records every frame that comes back."""

    def __init__(self, link: ClientLink) -> None:
        self.link = link
        #: Every frame received, in order.
        self.frames: list[AnyServerFrame] = []
        self.closed = False
        link.start(on_frame=self._on_frame, on_closed=self._on_closed)

    def _on_frame(self, _link: ClientLink, frame: AnyServerFrame) -> None:
        self.frames.append(frame)

    def _on_closed(self, _link: ClientLink) -> None:
        self.closed = True

    def send(self, frame: ClientFrame) -> bool:
        """Encode and send ``frame``; False once the link is closed."""
        return self.link.send(codec.encode(frame))

    def wait_for(
        self, wanted: Callable[[AnyServerFrame], bool], timeout: float = 5.0
    ) -> AnyServerFrame:
        """The first frame received that ``wanted`` accepts, waiting for it."""
        wait_until(lambda: any(wanted(f) for f in self.frames), timeout, "a frame")
        return next(f for f in self.frames if wanted(f))

    def login(self, user_id: str, app_id: str = "testapp") -> LoginOk:
        """Log in as ``user_id`` (any token: a server without certificates)."""
        self.send(Login(1, app_id, user_id))
        return cast(LoginOk, self.wait_for(lambda f: isinstance(f, LoginOk)))

    def close(self) -> None:
        """Close the link (the server sees its end)."""
        self.link.close()
