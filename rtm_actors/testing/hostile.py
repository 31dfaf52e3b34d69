"""A hostile websocket client, and a probe pair of well-behaved users, for attack tests.

``HostileSocket`` speaks raw TCP: it can stop half-way through the HTTP request, send
frames no library would (unmasked, fragmented pings, reserved bits, 2^63 lengths), never
read, and then tell how the server ended the connection (``close_code``).

``Probe`` is two real SDK users that log in and exchange peer messages for as long as an
attack runs; ``check`` says whether every message arrived and how long the slowest took.
"""

from __future__ import annotations

import base64
import contextlib
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.event
import gevent.socket

from rtm_actors.protocol import codec
from rtm_actors.protocol.frames import Login
from rtm_actors.protocol.wsframes import (
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    payload_span,
    unmask,
)


def client_frame(
    payload: bytes,
    opcode: int = OP_TEXT,
    *,
    fin: bool = True,
    masked: bool = True,
    rsv: int = 0,
    length: int | None = None,
) -> bytes:
    """A client-to-server frame; ``length`` may lie about the payload's size."""
    n = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head = bytes((first, mask_bit | n))
    elif n < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + unmask(payload, key)  # (XOR: masking is unmasking)


def upgrade_request(url: str, key: str | None = None, version: str = "13") -> bytes:
    """The HTTP upgrade request a websocket client sends for ``url``."""
    parts = urlsplit(url)
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {parts.path or '/'} HTTP/1.1\r\n"
        f"Host: {parts.hostname}:{parts.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    ).encode()


class HostileSocket:
    """One raw TCP connection to the server, driven byte by byte."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        self.url = url
        #: How long a send may wait for the server to take its bytes.
        self.timeout = timeout
        self.sock = gevent.socket.create_connection((parts.hostname, parts.port), timeout)
        self._inbox = bytearray()
        #: The HTTP status line of the upgrade's answer, once read.
        self.status_line = ""
        #: The upgrade answer's whole head (status line and headers), once read.
        self.response_head = ""

    # -- sending ---------------------------------------------------------------

    def send(self, data: bytes) -> bool:
        """Send raw bytes; False once the server has closed or reset the connection (or
        took nothing for ``timeout`` seconds)."""
        self.sock.settimeout(self.timeout)  # (reads leave their own timeout behind)
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def upgrade(self, **kwargs: Any) -> str:
        """Send the upgrade request; answer the HTTP status line (101 when upgraded)."""
        self.send(upgrade_request(self.url, **kwargs))
        head = self._read_until(b"\r\n\r\n")
        self.response_head = head.decode("latin-1")
        self.status_line = self.response_head.split("\r\n", 1)[0]
        return self.status_line

    def login(self, user_id: str, app_id: str = "testapp") -> None:
        """Send a login frame (the answer is left unread)."""
        self.send(client_frame(codec.encode(Login(1, app_id, user_id))))

    def stream(self, data: bytes, seconds: float, max_bytes: int) -> int:
        """Send ``data`` over and over for ``seconds`` or ``max_bytes`` at most, and
        stop early once the server closes or stops reading (a send that cannot go on
        for 1 s); answer the bytes sent. What the server answers is left unread."""
        deadline = time.monotonic() + seconds
        sent = 0
        self.sock.settimeout(1.0)
        try:
            while sent < max_bytes and time.monotonic() < deadline:
                self.sock.sendall(data)
                sent += len(data)
        except OSError:
            pass
        return sent

    def ping(self) -> bool:
        """Send an empty ping frame (traffic that is not a login)."""
        return self.send(client_frame(b"", OP_PING))

    def trickle(self, data: bytes, interval: float) -> int:
        """Send ``data`` one byte every ``interval`` seconds until it is all sent or the
        server closes; answer how many bytes went."""
        for sent in range(len(data)):
            if not self.send(data[sent : sent + 1]):
                return sent
            gevent.sleep(interval)
        return len(data)

    # -- reading -----------------------------------------------------------------

    def close_code(self, timeout: float = 15.0) -> int | None:
        """Read until the server ends the connection: its close frame's code, or None
        when it ended with no close frame (EOF or reset). Raises ``TimeoutError`` if the
        connection is still open after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            code = self._next_close_code()
            if code is not None:
                return code if code >= 0 else None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = "the server did not close the connection"
                raise TimeoutError(msg)
            if not self._fill(remaining):
                return self._next_close_code() or None

    def wait_text(self, marker: bytes, timeout: float = 5.0) -> bool:
        """Read until a frame whose payload holds ``marker`` (True) or ``timeout``,
        a close or EOF (False); frames before it are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            while (got := self._next_frame()) is not None:
                if got[0] == OP_CLOSE:
                    return False
                if marker in got[1]:
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._fill(remaining):
                return False

    def _next_frame(self) -> tuple[int, bytes] | None:
        """The next whole frame (opcode, payload) taken off the inbox; None if none
        is in yet."""
        buf = self._inbox
        if len(buf) < 2:
            return None
        start, n = payload_span(buf, 0, len(buf))
        if start < 0 or len(buf) < start + n:
            return None
        frame = buf[0] & 0x0F, bytes(buf[start : start + n])
        del buf[: start + n]
        return frame

    def read_frames(self, timeout: float) -> list[tuple[int, bytes]]:
        """What arrives within ``timeout`` (0: only what is there now), as whole
        frames (opcode, payload); a partial frame stays for the next call."""
        self._fill(timeout)
        frames = []
        while (got := self._next_frame()) is not None:
            frames.append(got)
        return frames

    def is_open_after(self, seconds: float) -> bool:
        """Whether the connection is still open ``seconds`` from now (reads meanwhile)."""
        try:
            self.close_code(seconds)
        except TimeoutError:
            return True
        return False

    def ends_within(self, timeout: float) -> bool:
        """Read (and drop) whatever comes until the server ends the connection: True if
        it did within ``timeout``. For sockets that never upgraded (HTTP answers are not
        frames, so ``close_code`` does not apply)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._fill(remaining):
                return True
            self._inbox.clear()
        return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _next_close_code(self) -> int | None:
        """Consume whole frames from the inbox; the first close frame's code (-1: one
        without a code), None if none is in yet."""
        while (got := self._next_frame()) is not None:
            opcode, payload = got
            if opcode == OP_CLOSE:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else -1
        return None

    def _fill(self, timeout: float) -> bool:
        """Read what arrives within ``timeout``; False at EOF or reset."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (TimeoutError, BlockingIOError):  # (a timeout of 0: nothing there now)
            return True
        except OSError:
            return False
        if not chunk:
            return False
        self._inbox += chunk
        return True

    def _read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self._inbox:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._fill(remaining):
                break
        head, _, rest = bytes(self._inbox).partition(marker)
        self._inbox = bytearray(rest)
        return head


#: A probe message's round trip (send to receipt) on a loaded 2-core machine stays far
#: below this; an attack that starves the event loop shows as seconds.
PROBE_SLOWEST_OK = 2.0


@dataclass
class ProbeResult:
    """What the probe pair saw while an attack ran."""

    sent: int = 0
    received: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    @property
    def slowest(self) -> float:
        return max(self.latencies, default=0.0)

    def assert_healthy(self, slowest_ok: float = PROBE_SLOWEST_OK) -> None:
        """The pair sent messages throughout, every one arrived, none was slow."""
        assert not self.failures, self.failures[:5]
        assert self.sent >= 3, f"the probe sent only {self.sent} messages"
        assert self.received == self.sent, (self.received, self.sent)
        assert self.slowest < slowest_ok, f"slowest probe message {self.slowest:.2f} s"


class Probe:
    """Two well-behaved users exchanging peer messages while an attack runs.

    ``start`` logs both in; a greenlet sends a message every ``interval`` until
    ``stop``; the result counts what arrived and each message's round trip (send to
    the sender's receipt)."""

    def __init__(self, url: str, interval: float = 0.1, name: str = "probe") -> None:
        self.url = url
        self.interval = interval
        self.name = name
        self.result = ProbeResult()
        self._greenlet: Any = None
        self._services: list[Any] = []
        self._received: Any = None
        self._ready = gevent.event.Event()
        #: Set by ``stop``: the sender ends after the message in flight (killing it
        #: mid-send would leave one message received but not counted as sent).
        self._stopping = False

    def start(self, timeout: float = 10.0) -> Probe:
        """Log the pair in and start sending (returns once both are logged in)."""
        self._greenlet = gevent.spawn(self._run)
        self._ready.wait(timeout)
        return self

    def stop(self, min_sent: int = 3, timeout: float = 10.0) -> ProbeResult:
        """Stop sending (once at least ``min_sent`` were sent) and log the pair out."""
        deadline = time.monotonic() + timeout
        while (
            self.result.sent < min_sent
            and not self.result.failures
            and time.monotonic() < deadline
            and self._greenlet is not None
            and not self._greenlet.dead
        ):
            gevent.sleep(self.interval)
        if self._greenlet is not None:
            self._stopping = True
            self._greenlet.join(timeout)
            self._greenlet.kill()
            self._greenlet = None
        gevent.sleep(0.2)  # the last message's push may trail its receipt
        if self._received is not None:
            self.result.received = len(self._received.calls("on_message_received_from_peer"))
        for service in self._services:
            service.release()
        self._services.clear()
        return self.result

    def _run(self) -> None:
        import rtm_actors as ra
        from rtm_actors.testing import EventRecorder, fast_client_config

        result = self.result
        try:
            sender = self._login(ra, EventRecorder(), fast_client_config(), "a")
            self._received = EventRecorder()
            self._login(ra, self._received, fast_client_config(), "b")
        except Exception as exc:  # noqa: BLE001 (a failed login is what the probe reports)
            result.failures.append(f"login: {exc!r}")
            return
        finally:
            self._ready.set()
        while not self._stopping:
            began = time.monotonic()
            try:
                code = sender.send_message_to_peer(
                    f"{self.name}-b", sender.create_message(f"m{result.sent}")
                ).get(timeout=10)
            except Exception as exc:  # noqa: BLE001
                result.failures.append(f"send {result.sent}: {exc!r}")
                code = None
            result.sent += 1
            if code is not None and int(code) == 0:
                result.latencies.append(time.monotonic() - began)
            elif code is not None:
                result.failures.append(f"send {result.sent}: code {code!r}")
            gevent.sleep(self.interval)

    def _login(self, ra: Any, handler: Any, config: Any, suffix: str) -> Any:
        service = ra.create_agora_service().create_rtm_service()
        service.initialize("testapp", handler, server_url=self.url, config=config)
        self._services.append(service)
        service.login(None, f"{self.name}-{suffix}").get(timeout=10)
        return service
