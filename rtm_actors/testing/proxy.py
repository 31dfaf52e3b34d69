"""A TCP proxy on loopback whose connections a test can cut, like a network failure."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any, Self

import gevent
import gevent.socket
from gevent.server import StreamServer


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to ``upstream``; ``cut()`` resets every live connection."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._pairs: list[tuple[Any, Any]] = []
        #: While True, new connections are reset at once (the network is still down).
        self.refusing = False
        self._server = StreamServer(("127.0.0.1", 0), self._handle)

    def start(self) -> Self:
        """Listen on an ephemeral port."""
        self._server.start()
        return self

    @property
    def port(self) -> int:
        """The port clients connect to."""
        return int(self._server.server_port or 0)

    def url(self, path: str = "/rtm") -> str:
        """A websocket URL through the proxy."""
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def live(self) -> int:
        """How many client connections are being forwarded now."""
        return len(self._pairs)

    def cut(self) -> int:
        """Reset every connection now (RST, no close handshake); answer how many."""
        pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)
        return len(pairs)

    def stop(self) -> None:
        """Cut everything and stop listening."""
        self.cut()
        self._server.stop(timeout=1)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        t: type[BaseException] | None,
        e: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _handle(self, client: Any, _address: Any) -> None:
        if self.refusing:
            _reset(client)
            return
        try:
            upstream = gevent.socket.create_connection(self._upstream, timeout=5)
        except OSError:
            client.close()
            return
        pair = (client, upstream)
        self._pairs.append(pair)
        to_server, to_client = self._pumps(client, upstream)
        pumps = [gevent.spawn(to_server), gevent.spawn(to_client)]
        gevent.joinall(pumps, count=1)
        for sock in pair:
            _reset(sock)
        gevent.killall(pumps)
        if pair in self._pairs:
            self._pairs.remove(pair)

    def _pumps(self, client: Any, upstream: Any) -> tuple[Callable[[], None], Callable[[], None]]:
        """One connection's two directions, client to server and back: each copies
        bytes until its side closes (a subclass may look at them or hold some back)."""
        return partial(_pump, client, upstream), partial(_pump, upstream, client)


def _pump(src: Any, dst: Any) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass


def _reset(sock: Any) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
