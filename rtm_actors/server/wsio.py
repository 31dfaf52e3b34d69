"""Fast websocket frame IO on top of a gevent-websocket ``WebSocket``.

gevent-websocket unmasks payloads one byte at a time in Python and checks UTF-8 twice
more, ~30 us per small frame and ~16 ms for a 64 KB one. We read frames from the same
stream ourselves (``FrameReader``: one buffered read for every frame it brings in):
unmasking is one big-integer XOR, and UTF-8 is left to the JSON decoder, which checks
it anyway. Writes are whole pre-built frames, so a frame encoded
once can go to many sockets.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import socket
from collections.abc import Callable
from typing import Any

import gevent
import gevent.ssl
import structlog
from geventwebsocket.exceptions import ProtocolError
from geventwebsocket.handler import WebSocketHandler

from rtm_actors.keepalive import keep_alive
from rtm_actors.protocol.wsframes import (
    CLOSE_PROTOCOL_ERROR as CLOSE_PROTOCOL_ERROR,
    MAX_CONTROL_PAYLOAD as MAX_CONTROL_PAYLOAD,
    MAX_FRAGMENTS as MAX_FRAGMENTS,
    OP_BINARY as OP_BINARY,
    OP_CLOSE as OP_CLOSE,
    OP_CONTINUATION as OP_CONTINUATION,
    OP_PING as OP_PING,
    OP_PONG as OP_PONG,
    OP_TEXT as OP_TEXT,
    close_frame as close_frame,
    frame as frame,
    frame_head as frame_head,
    payload_span as payload_span,
    unmask as unmask,
)
from rtm_actors.runtime.round_writer import raw_socket as raw_socket
from rtm_actors.server.admission import CONNECTION_KEY, Cutoff
from rtm_actors.server.log_budget import PRE_LOGIN_LINES, LogBudget

log = structlog.get_logger("rtm_actors.server.wsio")
#: Bad upgrade requests (the process's log lines for them, whichever node).
UPGRADES_REFUSED = LogBudget(log, "upgrade_refused", lines=PRE_LOGIN_LINES)


class FrameTooBigError(Exception):
    """A message is larger than the server reads (or in more than ``MAX_FRAGMENTS``)."""


class PeerClosedError(Exception):
    """The other side closed the websocket (a close frame or EOF)."""


def check_header(b0: int, b1: int, length: int) -> None:
    """Raise ``ProtocolError`` for a client frame header RFC 6455 forbids: reserved
    bits (no extension is negotiated), no mask (5.1), a control frame that is
    fragmented or over 125 bytes (5.5). Checked at the header, before the payload."""
    if b0 & 0x70:
        raise ProtocolError("reserved bits set")
    if not b1 & 0x80:
        raise ProtocolError("unmasked client frame")
    if b0 & 0x08 and not b0 & 0x80:
        raise ProtocolError("fragmented control frame")
    if b0 & 0x08 and length > MAX_CONTROL_PAYLOAD:
        raise ProtocolError(f"control frame of {length} bytes")


class FrameReader:
    """Reads a client's messages in batches: one buffered read, every frame it holds.

    gevent-websocket's reader costs three reads and a header object per frame; this
    takes whatever the socket has (first ``read1`` on the handler's buffered stream,
    so bytes buffered during the handshake come first, then ``recv``), then parses
    every complete frame from its own buffer. The size check is made on each header
    before its payload is waited for, pings go to ``on_ping``, pongs are dropped,
    fragments are joined. RFC 6455 is enforced as a server must: an unmasked frame,
    a reserved bit, an unknown opcode, a fragment out of order or a control frame that
    is fragmented or over 125 bytes is a ``ProtocolError`` (close 1002). An error
    found after some messages of a batch is raised at the next call, so the messages
    before it are not lost.

    ``on_ping`` should have the socket's one writer send the pong, so that two
    greenlets never interleave writes on the socket.
    """

    __slots__ = (
        "_buf",
        "_error",
        "_opcode",
        "_parts",
        "_read",
        "_recv",
        "_size",
        "max_bytes",
        "on_ping",
    )

    def __init__(self, ws: Any, max_bytes: int, on_ping: Callable[[bytes], None]) -> None:
        self._read: Callable[[int], bytes] = ws.handler.rfile.read1
        self._recv: Callable[[int], bytes] = ws.handler.socket.recv
        self.max_bytes = max_bytes
        self.on_ping = on_ping
        self._buf = bytearray()
        self._error: BaseException | None = None
        #: A fragmented message in progress: its opcode, parts and size so far.
        self._opcode: int | None = None
        self._parts: list[bytes] = []
        self._size = 0

    def read_batch(self) -> list[bytes]:
        """Block until at least one whole message is in; answer every one buffered.

        Raises ``PeerClosedError`` at a close frame or EOF, ``FrameTooBigError`` past
        ``max_bytes``, ``ProtocolError`` on a malformed frame, ``OSError`` on socket
        errors (a read timeout included).
        """
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        out: list[bytes] = []
        while True:
            try:
                self._parse(out)
            except (PeerClosedError, FrameTooBigError, ProtocolError) as exc:
                if not out:
                    raise
                self._error = exc
            if out:
                return out
            try:
                chunk = self._read(65536)
            except ValueError as exc:  # the stream was closed under us
                raise PeerClosedError from exc
            # The first read took what the handshake left buffered (``read1`` answers
            # it all), so the buffer is empty: from now on read the socket itself.
            # (``read1`` allocates its whole buffer before it waits, 64 KB held by
            # every idle connection; a gevent ``recv`` waits first.)
            self._read = self._recv
            if not chunk:
                raise PeerClosedError
            self._buf += chunk

    def _parse(self, out: list[bytes]) -> None:
        buf = self._buf
        end = len(buf)
        pos = 0
        try:
            while end - pos >= 2:
                b0 = buf[pos]
                start, length = payload_span(buf, pos, end)
                if start < 0:
                    break
                # One test for the rare cases: reserved bits, control frames, no mask.
                if b0 & 0x78 or not buf[pos + 1] & 0x80:
                    check_header(b0, buf[pos + 1], length)
                if self._size + length > self.max_bytes:
                    raise FrameTooBigError(self._size + length)
                stop = start + 4 + length
                if stop > end:
                    break
                payload = unmask(bytes(buf[start + 4 : stop]), bytes(buf[start : start + 4]))
                pos = stop
                self._frame(b0, payload, out)
        finally:
            del buf[:pos]

    def _frame(self, b0: int, payload: bytes, out: list[bytes]) -> None:
        op = b0 & 0x0F
        if op == OP_PING:
            self.on_ping(payload)
            return
        if op == OP_PONG:
            return
        if op == OP_CLOSE:
            raise PeerClosedError
        if op in (OP_TEXT, OP_BINARY):
            if self._opcode is not None:
                raise ProtocolError("new message inside a fragmented one")
            if b0 & 0x80:
                out.append(payload)
                return
            self._opcode = op
        elif op != OP_CONTINUATION or self._opcode is None:
            raise ProtocolError(f"unexpected opcode {op}")
        self._parts.append(payload)
        self._size += len(payload)
        if len(self._parts) > MAX_FRAGMENTS:
            raise FrameTooBigError(f"more than {MAX_FRAGMENTS} fragments")
        if b0 & 0x80:
            out.append(b"".join(self._parts))
            self._opcode = None
            self._parts = []
            self._size = 0


#: Bytes of the buffered reader a connection keeps for its life (gevent's default: 8 KB).
HANDSHAKE_BUFFER = 1024


class LeanWebSocketHandler(WebSocketHandler):  # type: ignore[misc]
    """gevent-websocket's handler with a 1 KB read buffer per connection.

    gevent.pywsgi gives every connection an 8 KB buffered reader for the HTTP
    request, kept as long as the connection lives; here it only ever reads the
    upgrade request and what the client sent right behind it (``FrameReader`` reads
    the socket itself after that), so 1 KB does: 7 KB less for every idle user.
    """

    #: The socket's place in ``Admission`` (set by ``AdmittingWSGIServer``; None when
    #: mounted in another server), passed to the app in the environ.
    connection: Any = None

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        super().__init__(sock, address, server, rfile)
        if rfile is None:
            self.rfile = sock.makefile("rb", HANDSHAKE_BUFFER)

    def upgrade_websocket(self) -> Any:
        """Upgrade a websocket request, or answer a bad one 400 (426 for a version
        other than 13) with one log line. (gevent-websocket's own answers are ``str``
        bodies that pywsgi refuses: a 500 and a traceback per request.)"""
        environ = self.environ
        if not _asks_for_websocket(environ):
            return None  # not a websocket request: the WSGI app answers it
        refusal = handshake_refusal(environ, self.request_version)
        if refusal is None:
            return self.upgrade_connection()
        status, headers, why = refusal
        UPGRADES_REFUSED.note(
            status=status[:3],
            why=why,
            peer=f"{environ.get('REMOTE_ADDR', '?')}:{environ.get('REMOTE_PORT', '?')}",
        )
        self.start_response(status, [("Content-Type", "text/plain"), *headers])
        return [why.encode() + b"\n"]

    def get_environ(self) -> Any:
        """pywsgi's environ, with the connection under ``CONNECTION_KEY``."""
        environ = super().get_environ()
        environ[CONNECTION_KEY] = self.connection
        return environ

    def handle_error(self, t: Any, v: Any, tb: Any) -> None:
        """A ``Cutoff`` (a deadline passed, or evicted) ends the connection: pywsgi
        would log it as a crash and answer 500, to a client that may not read."""
        if isinstance(v, Cutoff):
            raise v
        super().handle_error(t, v, tb)

    def _handle_client_error(self, ex: BaseException) -> Any:
        """A connection reset while the request is read just ends the connection:
        pywsgi prints a traceback for each, a log flood any client can cause."""
        if isinstance(ex, ConnectionError):
            return None
        return super()._handle_client_error(ex)

    def MessageClass(self, rfile: Any, *_args: Any) -> RequestHeaders:  # noqa: N802 (pywsgi's name)
        """The request's headers, read without ``email.parser`` (which gevent.pywsgi
        uses by way of ``http.client``: 7% of the server's time in a login storm)."""
        return RequestHeaders.read(rfile)


#: The one websocket version served (RFC 6455); drafts 7 and 8 are not.
WEBSOCKET_VERSION = "13"


def _asks_for_websocket(environ: dict[str, Any]) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "GET"
        and environ.get("HTTP_UPGRADE", "").lower() == "websocket"
        and "upgrade" in environ.get("HTTP_CONNECTION", "").lower()
    )


def handshake_refusal(
    environ: dict[str, Any], request_version: str
) -> tuple[str, list[tuple[str, str]], str] | None:
    """Why a websocket upgrade request is refused, as (status, headers, reason); None
    if it is good (RFC 6455 4.2.1: HTTP/1.1, version 13, a key of 16 bytes)."""
    if request_version != "HTTP/1.1":
        return "400 Bad Request", [], "websocket upgrade needs HTTP/1.1"
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != WEBSOCKET_VERSION:
        headers = [("Sec-WebSocket-Version", WEBSOCKET_VERSION)]
        return "426 Upgrade Required", headers, "unsupported Sec-WebSocket-Version"
    key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
    try:
        key_bytes = len(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        key_bytes = 0
    if key_bytes != 16:
        return "400 Bad Request", [], "bad Sec-WebSocket-Key"
    return None


#: http.client's limits on a request's header section, kept.
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100


class RequestHeaders:
    """What gevent.pywsgi asks of a request's headers: ``get`` (case-insensitive),
    ``del``, the raw ``headers`` lines and a ``status`` that, when set, makes it answer
    400. Folded (obsolete) header lines and lines without a colon are refused."""

    __slots__ = ("_items", "status")

    def __init__(self, items: list[tuple[str, str]], status: str = "") -> None:
        self._items = items
        self.status = status

    @classmethod
    def read(cls, rfile: Any) -> RequestHeaders:
        """Read header lines up to the blank line that ends them."""
        items: list[tuple[str, str]] = []
        while True:
            line = rfile.readline(MAX_HEADER_LINE + 1)
            if len(line) > MAX_HEADER_LINE:
                return cls([], "Line too long")
            if line in (b"\r\n", b"\n", b""):
                return cls(items)
            if len(items) >= MAX_HEADERS:
                return cls([], "Too many headers")
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or name[0] in " \t" or name != name.rstrip():
                return cls([], "Invalid header line")
            items.append((name, value.strip()))

    def get(self, name: str, default: Any = None) -> Any:
        """The first value of header ``name``, or ``default``."""
        name = name.lower()
        return next((v for k, v in self._items if k.lower() == name), default)

    getheader = get

    def __delitem__(self, name: str) -> None:
        name = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != name]

    @property
    def headers(self) -> list[str]:
        """The header lines, as pywsgi turns them into the WSGI environ."""
        return [f"{k}: {v}\r\n" for k, v in self._items]

    @property
    def typeheader(self) -> Any:
        """The Content-Type, if any."""
        return self.get("content-type")


def set_nodelay(ws: Any, keepalive_timeout: float = 0.0) -> None:
    """Turn off Nagle's algorithm: small frames go out now, not after a delayed ACK; and
    with ``keepalive_timeout``, have the kernel end the link once the client has
    answered nothing at the TCP level for that long (``keepalive.py``)."""
    sock = getattr(getattr(ws, "handler", None), "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        keep_alive(sock, keepalive_timeout, data_timeout=keepalive_timeout)


class SlowConsumerError(Exception):
    """A write could not finish within the write timeout: the client is not reading."""


def send_all(sock: Any, raw: Any, data: bytes, timeout: float) -> None:
    """Write all of ``data``; raise ``SlowConsumerError`` if that takes over ``timeout``.

    Fast path: one non-blocking send on the raw socket (``raw_socket``), which finishes
    almost every write with no timer. Only a write that would block arms a
    ``gevent.Timeout``.
    """
    sent = 0
    if raw is not None:
        try:
            sent = raw.send(data)
        except BlockingIOError:
            sent = 0
    if sent < len(data):
        with gevent.Timeout(timeout, SlowConsumerError):
            sock.sendall(memoryview(data)[sent:])
