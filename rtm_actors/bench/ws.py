"""A lean client websocket for load generation: one handshake, masked frames out,
whole frames in, read in big batches.

The load side must cost less than the server it measures, so this does as little as
a websocket client may: frames go out with an all-zero mask key (the bytes are then
their own masked form, and every server still runs its unmasking), a batch of
frames goes out in one ``sendall``, and ``read_batch`` returns every complete
message that one ``recv`` brought in. Every system under test gets the same client.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
from typing import Any

import gevent.socket

from rtm_actors.server import wsio

_ZERO_MASK = b"\x00\x00\x00\x00"
_OP_TEXT = 0x1
_OP_CLOSE = 0x8
_OP_PING = 0x9
_OP_PONG = 0xA
_RECV = 256 * 1024


class BenchSocketClosedError(Exception):
    """The server closed the websocket (close frame or EOF)."""


def client_frame(payload: bytes, opcode: int = _OP_TEXT) -> bytes:
    """One final, masked (zero key) client frame."""
    return wsio.frame_head(opcode, len(payload), 0x80) + _ZERO_MASK + payload


class WsConn:
    """A client websocket on a gevent socket."""

    __slots__ = ("_batch", "_buf", "closed", "sock")

    def __init__(self, sock: Any, leftover: bytes = b"") -> None:
        self.sock = sock
        self._buf = bytearray(leftover)
        self.closed = False
        #: Frames held back while a read batch is handled (see ``hold``).
        self._batch: list[bytes] | None = None

    @classmethod
    def connect(cls, host: str, port: int, path: str, timeout: float = 30.0) -> WsConn:
        """Open a TCP connection (``TCP_NODELAY``) and do the websocket handshake."""
        sock = gevent.socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                sock.close()
                raise BenchSocketClosedError("closed during the handshake")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            sock.close()
            raise BenchSocketClosedError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        sock.settimeout(None)
        return cls(sock, rest)

    def send(self, payload: bytes) -> None:
        """Send one text message (or hold it until ``flush``, inside ``hold``)."""
        if self._batch is not None:
            self._batch.append(client_frame(payload))
        else:
            self.sock.sendall(client_frame(payload))

    def hold(self) -> None:
        """Hold what is sent from now on until ``flush``: one write per read batch."""
        if self._batch is None:
            self._batch = []

    def flush(self, first: list[bytes] | None = None) -> None:
        """Send ``first`` (e.g. the batch's acknowledgement), then every held frame."""
        batch, self._batch = self._batch or [], None
        if first:
            batch[:0] = [client_frame(p) for p in first]
        if batch:
            self.sock.sendall(b"".join(batch))

    def read_batch(self) -> list[bytes]:
        """Every complete message buffered, or, if none, those the next ``recv`` completes.

        Pings are answered here; raises ``BenchSocketClosedError`` at a close frame or EOF.
        """
        while True:
            if self._buf:
                out = self._parse()
                if out:
                    return out
            chunk = self.sock.recv(_RECV)
            if not chunk:
                self.closed = True
                raise BenchSocketClosedError("EOF")
            self._buf += chunk

    def _parse(self) -> list[bytes]:
        buf = self._buf
        out: list[bytes] = []
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            start, size = wsio.payload_span(buf, pos, end)
            if start < 0:
                break
            stop = start + size
            if stop > end:
                break
            op = buf[pos] & 0x0F
            payload = bytes(buf[start:stop])
            pos = stop
            if op == _OP_PING:
                self.sock.sendall(client_frame(payload, _OP_PONG))
            elif op == _OP_CLOSE:
                self.closed = True
                raise BenchSocketClosedError("close frame")
            elif op != _OP_PONG:
                out.append(payload)
        del buf[:pos]
        return out

    def close(self) -> None:
        """Shut the connection (no close handshake: the load is over)."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()
