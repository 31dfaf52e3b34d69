"""Whole frames out to a socket without blocking the sender, one write per loop round.

A gevent ``sendall`` costs two system calls per frame (it asks for ``SO_SNDBUF`` each
time) and parks the sender when the socket is full. ``RoundWriter`` holds the frames
sent while the event loop runs one round and writes them with one non-blocking
``send`` on the raw socket when the round ends; what the socket cannot take waits,
with everything sent after it, for a flusher greenlet. On TLS every write goes by the
flusher (an SSL write may block).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import gevent
import gevent.ssl

#: A writer writes what it holds for the end of the round once this many frames wait.
MAX_HELD_FRAMES = 64


def raw_socket(sock: Any) -> Any:
    """The OS-level non-blocking socket under a plain gevent socket (None under TLS,
    where bytes must go through the SSL layer)."""
    if isinstance(sock, gevent.ssl.SSLSocket):
        return None
    return getattr(sock, "_sock", None)


class RoundWriter:
    """Writes frames in order; ``write`` never blocks and answers False once failed.

    Past ``max_pending_bytes`` waiting (the other side stopped reading) the writer
    fails and calls ``on_failed``, as it does when the socket errors: a bounded queue,
    and the owner decides what a dead socket means.
    """

    __slots__ = (
        "_held",
        "_on_failed",
        "_pending",
        "_pending_bytes",
        "failed",
        "max_pending_bytes",
        "raw",
        "sock",
    )

    def __init__(
        self, sock: Any, on_failed: Callable[[], object], max_pending_bytes: int = 16 << 20
    ) -> None:
        self.sock = sock
        self.raw = raw_socket(sock)
        self.max_pending_bytes = max_pending_bytes
        self.failed = False
        self._on_failed = on_failed
        #: Frames sent during this round of the event loop (None: none yet).
        self._held: list[bytes] | None = None
        #: Frames waiting for the flusher (None: no flusher, the socket takes writes).
        self._pending: list[bytes] | None = None
        self._pending_bytes = 0

    def write(self, data: bytes) -> bool:
        """Queue ``data`` to go out at the end of this loop round, after what came before."""
        if self.failed:
            return False
        pending = self._pending
        if pending is not None:
            self._pending_bytes += len(data)
            if self._pending_bytes > self.max_pending_bytes:
                self._fail()
                return False
            pending.append(data)
            return True
        held = self._held
        if held is not None:
            held.append(data)
            if len(held) >= MAX_HELD_FRAMES:
                self.write_held()
            return True
        if self.raw is None:
            self._pending = [data]
            self._pending_bytes = len(data)
            gevent.spawn(self._flush)
            return True
        self._held = [data]
        # A hub callback: it runs once the greenlets woken this round have yielded.
        gevent.get_hub().loop.run_callback(self.write_held)
        return True

    @property
    def idle(self) -> bool:
        """Nothing held or waiting: a frame written now goes out at once."""
        return self._held is None and self._pending is None

    def write_held(self) -> None:
        """Write, in one write, the frames sent since the event loop's round began."""
        held = self._held
        if held is None:
            return
        self._held = None
        if self.failed:
            return
        data = held[0] if len(held) == 1 else b"".join(held)
        try:
            sent = self.raw.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._fail()
            return
        if sent < len(data):
            # The socket's buffer is full: the rest, and all after it, go by the flusher.
            self._pending = [data[sent:]]
            self._pending_bytes = len(data) - sent
            gevent.spawn(self._flush)

    def _flush(self) -> None:
        pending = self._pending
        try:
            while pending:
                data = b"".join(pending)
                pending.clear()
                self.sock.sendall(data)
                self._pending_bytes -= len(data)
        except OSError:
            self._fail()
        self._pending = None

    def _fail(self) -> None:
        if self.failed:
            return
        self.failed = True
        self._held = self._pending = None
        with contextlib.suppress(OSError):
            self._on_failed()
