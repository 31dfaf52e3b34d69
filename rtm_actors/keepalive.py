"""TCP keepalive on a link's socket: the kernel notices a dead peer, with no wake-up.

A peer host that vanished, or a network that broke, leaves a TCP socket open for
ever unless something is sent. A protocol ping every 2 s found it, at the price of a
send, a wake-up and a receive on both sides per ping (~35 us per user-second for the
leanest client). The kernel does the same with no user-space work: once nothing has
been received for half of ``timeout`` it sends a probe each second, which the peer's
kernel answers (the peer process never wakes), and ``TCP_USER_TIMEOUT`` ends the
connection (``ETIMEDOUT``: the socket turns readable, the read fails) once ``timeout``
passes with nothing back. With data unacknowledged the clock runs from when that
data went out, so a send into a dead link can push detection up to ``2 * timeout``
after the last packet received.

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


def keep_alive(sock: Any, timeout: float) -> None:
    """Have the kernel end ``sock``'s connection once its peer has answered nothing at
    the TCP level (no data, no ACK) for ``timeout`` seconds; 0 leaves it as it is.

    The option names are Linux's; elsewhere those missing are skipped (macOS calls the
    idle time ``TCP_KEEPALIVE``). A socket that refuses an option keeps the others.
    """
    if timeout <= 0:
        return
    idle = max(1, int(timeout // 2))
    options = (
        (socket.SOL_SOCKET, "SO_KEEPALIVE", 1),
        (socket.IPPROTO_TCP, "TCP_KEEPIDLE", idle),
        (socket.IPPROTO_TCP, "TCP_KEEPALIVE", idle),
        (socket.IPPROTO_TCP, "TCP_KEEPINTVL", PROBE_INTERVAL),
        # (Linux ends keepalive at the user timeout when one is set; the probe count
        # matters where there is none.)
        (socket.IPPROTO_TCP, "TCP_KEEPCNT", max(1, math.ceil(timeout - idle))),
        (socket.IPPROTO_TCP, "TCP_USER_TIMEOUT", int(timeout * 1000)),
    )
    for level, name, value in options:
        option = getattr(socket, name, None)
        if option is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(level, option, value)
