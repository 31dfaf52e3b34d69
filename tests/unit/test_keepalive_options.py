"""The socket options ``keep_alive`` sets: the numbers docs/protocol.md section 6 gives."""

from __future__ import annotations

import socket
import sys

import pytest

from rtm_actors.keepalive import keep_alive

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux's option names")


def _options(sock: socket.socket) -> tuple[int, int, int, int, int]:
    return (
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    )


@pytest.mark.parametrize(
    ("timeout", "idle", "probes"),
    [(6.0, 3, 3), (10.0, 5, 5), (2.0, 1, 1), (1.5, 1, 1)],
)
def test_probes_start_at_half_the_timeout_one_a_second(timeout, idle, probes):
    """Probes after half the timeout of quiet, one a second, until the timeout; no
    limit on unacknowledged data unless asked (a zero window must not end a client's
    link: docs/protocol.md section 6)."""
    with socket.socket() as sock:
        keep_alive(sock, timeout)
        assert _options(sock) == (1, idle, 1, probes, 0)


def test_the_server_also_bounds_unacknowledged_data():
    """``data_timeout``: sent data unacknowledged that long ends the link (in ms)."""
    with socket.socket() as sock:
        keep_alive(sock, 10.0, data_timeout=10.0)
        assert _options(sock) == (1, 5, 1, 5, 10000)


def test_zero_leaves_the_socket_as_it_was():
    """A timeout of 0 turns nothing on."""
    with socket.socket() as sock:
        before = _options(sock)
        keep_alive(sock, 0.0)
        assert _options(sock) == before
        assert before[0] == 0
