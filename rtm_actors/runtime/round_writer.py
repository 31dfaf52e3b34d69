"""Whole frames out to a socket without blocking the sender, one write per loop round.

A gevent ``sendall`` costs two system calls per frame (it asks for ``SO_SNDBUF`` each
time) and parks the sender when the socket is full. ``RoundWriter`` holds the frames
sent while the event loop runs one round and writes them with one non-blocking
``send`` on the raw socket when the round ends (the frames a user gets from many
senders at once cost one system call, whoever sent them); what the socket cannot take
waits, with everything sent after it, for a flusher greenlet that writes it in order.
On TLS every write goes by the flusher (an SSL write may block). The server's links
and the client's link both write this way.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

import gevent
import gevent.ssl

#: A writer writes what it holds for the end of the round once this many frames wait.
MAX_HELD_FRAMES = 64


class WriteTimeoutError(Exception):
    """A flush could not finish within the write timeout: the other side is not reading."""


def raw_socket(sock: Any) -> Any:
    """The OS-level non-blocking socket under a plain gevent socket (None under TLS,
    where bytes must go through the SSL layer)."""
    if isinstance(sock, gevent.ssl.SSLSocket):
        return None
    return getattr(sock, "_sock", None)


class RoundWriter:
    """Writes frames in order; ``write`` never blocks and answers False once failed.

    It fails, once, calling ``on_failed(stalled)``: with ``stalled`` True when the
    other side stopped reading (more than ``max_pending_frames`` frames or
    ``max_pending_bytes`` bytes waiting, or a flush stuck past ``write_timeout``), False
    when the socket broke. Its owner decides what either means.
    """

    __slots__ = (
        "_held",
        "_on_failed",
        "_pending",
        "_pending_bytes",
        "_then",
        "failed",
        "max_pending_bytes",
        "max_pending_frames",
        "raw",
        "sock",
        "write_timeout",
    )

    def __init__(
        self,
        sock: Any,
        on_failed: Callable[[bool], object],
        max_pending_bytes: int = 16 << 20,
        max_pending_frames: int = 1 << 30,
        write_timeout: float | None = None,
    ) -> None:
        self.sock = sock
        self.raw = raw_socket(sock)
        self.max_pending_bytes = max_pending_bytes
        self.max_pending_frames = max_pending_frames
        self.write_timeout = write_timeout
        self.failed = False
        # Weakly, when a method of the owner: the owner holds its writer, and a cycle
        # would keep every finished connection for the cycle collector.
        self._on_failed: Callable[[], Callable[[bool], object] | None] = (
            weakref.WeakMethod(on_failed) if inspect.ismethod(on_failed) else lambda: on_failed
        )
        #: Frames sent during this round of the event loop (None: none yet).
        self._held: list[bytes] | None = None
        #: Frames waiting for the flusher (None: no flusher, the socket takes writes).
        self._pending: list[bytes] | None = None
        #: Bytes waiting for the flusher, with those of the write it is in.
        self._pending_bytes = 0
        #: Called once the flusher has written everything (see ``finish_with``).
        self._then: Callable[[], object] | None = None

    def write(self, data: bytes) -> bool:
        """Queue ``data`` to go out at the end of this loop round, after what came before."""
        if self.failed:
            return False
        pending = self._pending
        if pending is not None:
            self._pending_bytes += len(data)
            if (
                len(pending) >= self.max_pending_frames
                or self._pending_bytes > self.max_pending_bytes
            ):
                self._fail(stalled=True)
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
            self._start_flusher(data)
            return True
        self._held = [data]
        # A hub callback: it runs once the greenlets woken this round have yielded.
        # (``write_held`` never blocks on a plain socket, so running in the hub is safe.)
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
        except (OSError, AttributeError):
            # Reset or broken pipe; or the socket is already gone.
            self._fail(stalled=False)
            return
        if sent < len(data):
            # The socket's buffer is full: the rest, and all after it, go by the flusher.
            self._start_flusher(data[sent:])

    def finish_with(self, last: bytes, then: Callable[[], object]) -> bool:
        """If the flusher is writing: write ``last`` after what waits, then call
        ``then``. Answer whether it will (else nothing waits: do both now)."""
        if self._pending is None or self.failed:
            return False
        self._pending.append(last)
        self._then = then
        return True

    def _start_flusher(self, data: bytes) -> None:
        self._pending = [data]
        self._pending_bytes = len(data)
        gevent.spawn(self._flush)

    def _flush(self) -> None:
        pending = self._pending
        try:
            while pending:
                data = b"".join(pending)
                pending.clear()
                if self.write_timeout is None:
                    self.sock.sendall(data)
                else:
                    with gevent.Timeout(self.write_timeout, WriteTimeoutError):
                        self.sock.sendall(data)
                self._pending_bytes -= len(data)
        except WriteTimeoutError:
            self._pending = None
            self._fail(stalled=True)
            return
        except (OSError, AttributeError):
            self._fail(stalled=False)
        self._pending = None
        then, self._then = self._then, None
        if then is not None:
            then()

    def _fail(self, *, stalled: bool) -> None:
        if self.failed:
            return
        self.failed = True
        self._held = self._pending = None
        on_failed = self._on_failed()
        if on_failed is not None:
            on_failed(stalled)
