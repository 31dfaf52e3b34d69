"""TCP keepalive on a link's socket: the kernel notices a dead peer, with no wake-up.

A peer host that vanished, or a network that broke, leaves a TCP socket open for
ever unless something is sent. A protocol ping every 2 s found it, at the price of a
send, a wake-up and a receive on both sides per ping (~35 us per user-second for the
leanest client). The kernel does the same with no user-space work: once nothing has
been received for half of ``timeout`` it sends a probe each second, which the peer's
kernel answers (the peer process never wakes), and ends the connection (``ETIMEDOUT``:
the socket turns readable, the read fails) once ``timeout`` passes with no answer.

Probes go only while nothing waits to be acknowledged; while data does, the kernel
retransmits instead. ``data_timeout`` (``TCP_USER_TIMEOUT``) ends the connection when
sent data stays unacknowledged that long. The server sets it (a client that stopped
reading is cut off sooner anyway, by the write timeout); the client does not: it
would also end a connection whose server stopped *reading* for that long (a zero
window), so a server stalled a few seconds by load would see every client with data
to send drop and reconnect at once. The client's heartbeat timeout covers that case.

A peer *process* that hangs (stopped, deadlocked) keeps its kernel answering probes:
the protocol ping still finds that, and keeps the server's idle timeout from firing,
but it can be rare (``Timings.heartbeat_interval``). See docs/protocol.md section 6.
"""

from __future__ import annotations

import contextlib
import math
import socket
from typing import Any

#: Seconds between probes once they start (the kernel's unit is a whole second).
PROBE_INTERVAL = 1


def keep_alive(sock: Any, timeout: float, *, data_timeout: float = 0.0) -> None:
    """Have the kernel end ``sock``'s connection once its quiet peer has answered
    nothing at the TCP level (no data, no ACK) for ``timeout`` seconds, and (if
    ``data_timeout``) once sent data has waited that long for its ACK; 0 leaves the
    socket as it is.

    The option names are Linux's; elsewhere those missing are skipped (macOS calls the
    idle time ``TCP_KEEPALIVE``). A socket that refuses an option keeps the others.
    """
    if timeout <= 0:
        return
    idle = max(1, int(timeout // 2))
    options: list[tuple[int, str, int]] = [
        (socket.SOL_SOCKET, "SO_KEEPALIVE", 1),
        (socket.IPPROTO_TCP, "TCP_KEEPIDLE", idle),
        (socket.IPPROTO_TCP, "TCP_KEEPALIVE", idle),
        (socket.IPPROTO_TCP, "TCP_KEEPINTVL", PROBE_INTERVAL),
        (socket.IPPROTO_TCP, "TCP_KEEPCNT", max(1, math.ceil(timeout - idle))),
    ]
    if data_timeout > 0:
        # (Linux then also ends keepalive at this timeout rather than the probe count.)
        options.append((socket.IPPROTO_TCP, "TCP_USER_TIMEOUT", int(data_timeout * 1000)))
    for level, name, value in options:
        option = getattr(socket, name, None)
        if option is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(level, option, value)
