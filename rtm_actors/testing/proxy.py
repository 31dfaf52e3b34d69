"""A TCP proxy on loopback whose connections a test can cut, like a network failure."""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct
import termios
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any, Self

import gevent
import gevent.socket
from gevent.server import StreamServer

from rtm_actors.testing.recorder import wait_until


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to ``upstream``; ``cut()`` resets every live connection."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._pairs: list[tuple[Any, Any]] = []
        #: While True, new connections are reset at once (the network is still down).
        self.refusing = False
        #: Client connections taken so far (a reconnect is one more).
        self.accepted = 0
        #: Sockets of connections gone silent: what they still receive goes nowhere.
        self._silenced: set[Any] = set()
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

    def freeze(self) -> int:
        """Every live connection stops forwarding, as if the process at the other end
        hung: what arrives is still ACKed by the kernel (so keepalive sees a live
        peer) and goes nowhere. Answer how many connections froze."""
        for pair in self._pairs:
            self._silenced.update(pair)
        return len(self._pairs)

    def go_silent(self) -> int:
        """Every live connection dies without a word, as if the network broke or a host
        lost power: the proxy's sockets drop whatever arrives (no ACK, no RST, so
        nothing is forwarded either) and stay open. Only the kernel's keepalive or a
        heartbeat can notice. Answer how many connections went silent. Linux only
        (``SO_ATTACH_FILTER``); new connections are forwarded as before."""
        pairs = list(self._pairs)
        self.freeze()
        for pair in pairs:
            for sock in pair:
                # Data of ours the peer has not yet ACKed would be sent again and
                # again (its ACKs vanish), and each copy would tell the peer's kernel
                # that the link lives: a dead network sends nothing. So first let what
                # is in flight be ACKed (nothing new is forwarded meanwhile).
                wait_until(partial(_all_acknowledged, sock), 5.0, "its data acknowledged")
                drop_everything(sock)
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
        self.accepted += 1
        if self.refusing:
            _reset(client)
            return
        try:
            upstream = gevent.socket.create_connection(self._upstream, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)  # (a link may be quiet for long: only the test ends it)
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
        silenced = self._silenced
        return partial(_pump, client, upstream, silenced), partial(
            _pump, upstream, client, silenced
        )


def _pump(src: Any, dst: Any, silenced: set[Any]) -> None:
    try:
        while data := src.recv(65536):
            if src not in silenced:
                dst.sendall(data)
    except OSError:
        pass


def _reset(sock: Any) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


#: Linux's ``SO_ATTACH_FILTER`` (the socket module does not name it).
SO_ATTACH_FILTER = 26
#: A classic BPF program of one instruction, ``ret #0``: keep no byte of any packet.
_DROP_ALL = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))


def drop_everything(sock: Any) -> None:
    """Have the kernel drop every packet that arrives for ``sock`` before TCP sees it:
    no ACK goes back, the peer's probes and data vanish (no privilege needed)."""
    program = struct.pack("HL", 1, ctypes.addressof(_DROP_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, program)


def _all_acknowledged(sock: Any) -> bool:
    """Whether the peer has ACKed every byte ``sock`` has sent or holds to send."""
    unacked = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    return bool(unacked == 0)
