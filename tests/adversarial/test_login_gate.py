"""Attacks on the way in: sockets that never log in, never finish their HTTP request, or
open until the server runs out of file descriptors.

Each runs against a server process with short deadlines and small caps, and asserts the
attacker's sockets are cut off as docs/security.md says, the server's memory and file
descriptors stay bounded, and a probe pair of real users still logs in meanwhile.
"""

from __future__ import annotations

import re
import socket
import struct
import time

import gevent
import pytest

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.frames import Login
from rtm_actors.testing import wait_until
from rtm_actors.testing.hostile import HostileSocket, client_frame

pytestmark = pytest.mark.integration

#: RSS growth allowed for a flood of a few hundred sockets (docs/security.md).
GATE_GROWTH_MIB = 20
#: The caps and deadlines the attacks run against: small, so they run in seconds.
CAP = 50
DEADLINE = 1.0
#: How late a deadline may fire on a loaded 2-core machine.
SLACK = 2.0


def endings(socks: list[HostileSocket], within: float) -> list[int | str | None]:
    """Each socket's close code (None: ended with no close frame; "open": still open
    after ``within`` seconds from now, in all)."""
    deadline = time.monotonic() + within
    out: list[int | str | None] = []
    for sock in socks:
        try:
            out.append(sock.close_code(max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            out.append("open")
    return out


def upgraded(sock: HostileSocket) -> HostileSocket:
    """``sock``, upgraded to a websocket (asserted)."""
    assert "101" in sock.upgrade()
    return sock


def keep_sending(socks: list[HostileSocket], make: object, interval: float) -> None:
    """Send ``make()`` on every socket every ``interval`` seconds (until killed)."""
    while True:
        for sock in socks:
            sock.send(make())  # type: ignore[operator]
        gevent.sleep(interval)  # (the attack's pace, in real time: the deadline is under test)


def test_sockets_that_ping_without_logging_in_are_cut_at_the_login_deadline(
    start_server, hostile, probe
):
    """Pings do not push the login deadline back: 2 x the cap of pinging sockets are all
    closed, the oldest to make room for newcomers (3001) and the rest at the deadline
    (3009), and the probe pair logs in while they ping."""
    target = start_server(login_timeout=DEADLINE, max_unauthenticated=CAP)
    base = target.rss_mib()
    socks = [upgraded(hostile(target)) for _ in range(2 * CAP)]
    pinger = gevent.spawn(keep_sending, socks, lambda: client_frame(b"", 0x9), 0.25)
    try:
        pair = probe(target)
        codes = endings(socks, DEADLINE + SLACK)
    finally:
        pinger.kill()
    assert "open" not in codes
    assert set(codes) <= {DisconnectCode.STALE, DisconnectCode.SHUTDOWN}
    assert codes.count(DisconnectCode.STALE) >= CAP // 2
    assert target.rss_mib() - base < GATE_GROWTH_MIB
    pair.stop().assert_healthy()


def test_a_login_trickled_a_byte_at_a_time_is_cut_at_the_login_deadline(start_server, hostile):
    """A login frame sent one byte every 0.1 s (it would take seconds) is cut off at the
    login deadline, counted from the upgrade, with 3009."""
    target = start_server(login_timeout=DEADLINE)
    sock = hostile(target)
    assert "101" in sock.upgrade()
    began = time.monotonic()
    frame = client_frame(codec.encode(Login(1, "testapp", "slowpoke" * 8)))
    trickler = gevent.spawn(sock.trickle, frame, 0.1)
    try:
        assert sock.close_code(DEADLINE + SLACK) == DisconnectCode.STALE
    finally:
        trickler.kill()
    assert time.monotonic() - began < DEADLINE + SLACK


def test_idle_and_slowloris_sockets_are_cut_and_capped_before_the_upgrade(
    start_server, hostile, probe
):
    """3 x the cap of sockets that send nothing or trickle header lines: the server
    holds at most the cap of them (the oldest closed for newcomers), closes every one by
    the request deadline, answers /healthz meanwhile, and the probe pair logs in."""
    target = start_server(request_timeout=DEADLINE, max_unauthenticated=CAP)
    base_rss, base_fds = target.rss_mib(), target.open_fds()
    idle = [hostile(target) for _ in range(CAP + CAP // 2)]
    slow = [hostile(target) for _ in range(CAP + CAP // 2)]
    for sock in slow:
        sock.send(b"GET /rtm HTTP/1.1\r\nHost: x\r\n")
    trickler = gevent.spawn(keep_sending, slow, lambda: b"X-a: b\r\n", 0.25)
    try:
        # (Accepted in order: once /healthz is answered, every socket before it was
        # accepted, and the oldest closed for newcomers.)
        assert target.get("/healthz", timeout=2.0)[0] == 200
        held = target.open_fds() - base_fds
        assert held <= CAP + 5, f"{held} sockets held"
        pair = probe(target)
        ended = [sock.ends_within(DEADLINE + SLACK) for sock in idle + slow]
    finally:
        trickler.kill()
    assert all(ended), f"{ended.count(False)} still open"
    assert target.rss_mib() - base_rss < GATE_GROWTH_MIB
    pair.stop().assert_healthy()


def test_http_requests_that_never_end_are_cut_at_the_request_deadline(start_server, hostile):
    """Keep-alive requests to /healthz sent forever, and a request whose announced body
    never comes, are cut at the request deadline (counted from the accept)."""
    target = start_server(request_timeout=DEADLINE)
    keepalive, no_body = hostile(target), hostile(target)
    no_body.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    asker = gevent.spawn(keep_sending, [keepalive], lambda: request, 0.2)
    try:
        assert keepalive.ends_within(DEADLINE + SLACK)
        assert no_body.ends_within(DEADLINE + SLACK)
    finally:
        asker.kill()


def test_at_the_file_limit_the_server_still_serves(start_server, hostile, probe, tmp_path):
    """Under a 256-file limit, 400 idle sockets: the server keeps its sockets under the
    limit (the oldest idle ones closed for newcomers), answers /healthz, lets the probe
    pair in, and logs neither a traceback nor a line per socket."""
    log_path = tmp_path / "server.log"
    target = start_server(nofile=256, log_path=str(log_path))
    base = target.rss_mib()
    socks = [hostile(target) for _ in range(400)]
    # (Accepted in order: once /healthz is answered, every socket before it was.)
    assert target.get("/healthz", timeout=2.0)[0] == 200
    assert target.open_fds() < 256 - 32
    pair = probe(target)
    assert target.rss_mib() - base < GATE_GROWTH_MIB
    pair.stop().assert_healthy()
    for sock in socks:
        sock.close()
    log = log_path.read_text()
    assert "Traceback" not in log
    assert log.count("connections_evicted") <= 2, log[:2000]


def test_running_out_of_files_on_accept_logs_once_and_does_not_spin(
    start_server, hostile, tmp_path
):
    """Configured past its file limit, the server that runs out of descriptors on accept
    logs it once (not a traceback per accept), does not spin, and serves again: each
    failed accept evicts the oldest unauthenticated socket."""
    log_path = tmp_path / "server.log"
    target = start_server(
        nofile=128, max_connections=10_000, request_timeout=30.0, log_path=str(log_path)
    )
    cpu_before = _cpu_seconds(target.pid)
    socks = [hostile(target) for _ in range(200)]
    gevent.sleep(DEADLINE)  # (a window of real time: that the server does not spin in it)
    assert _cpu_seconds(target.pid) - cpu_before < 0.5 * DEADLINE
    assert target.get("/healthz", timeout=SLACK)[0] == 200
    for sock in socks:
        sock.close()
    log = log_path.read_text()
    assert "Traceback" not in log
    assert 1 <= log.count("accept_failed") <= 2, log[:2000]


def test_metrics_count_sockets_by_state(start_server, hostile, probe):
    """/metrics shows the sockets held in each state, and a greenlet count that covers
    them."""
    target = start_server(login_timeout=30.0, request_timeout=30.0)
    pair = probe(target)
    idle = [hostile(target) for _ in range(3)]
    waiting = [upgraded(hostile(target)) for _ in range(2)]
    # (Accepted in order: the scrape's own socket comes after every one of them.)
    status, text = target.get("/metrics")
    assert status == 200
    # The scrape itself is one more socket before the upgrade.
    assert _sample(text, 'rtm_sockets{state="http"}') == len(idle) + 1
    assert _sample(text, 'rtm_sockets{state="login"}') == len(waiting)
    assert _sample(text, 'rtm_sockets{state="logged_in"}') == 2
    assert _sample(text, "rtm_greenlets") >= len(idle) + 1 + len(waiting) + 2
    pair.stop().assert_healthy()


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def test_when_every_socket_is_logged_in_a_newcomer_gets_503(start_server, hostile, probe):
    """At max_connections with every socket logged in, nobody is evicted: a newcomer is
    answered 503 and closed, and the logged-in users carry on."""
    target = start_server(max_connections=4)
    pair = probe(target)
    users = [upgraded(hostile(target)) for _ in range(2)]
    for n, sock in enumerate(users):
        sock.login(f"user{n}")
    for sock in users:
        assert sock.wait_text(b'"login_ok"')
    newcomer = hostile(target)
    assert "503" in newcomer.upgrade()
    assert newcomer.ends_within(SLACK)
    pair.stop().assert_healthy()


def test_resets_in_the_middle_of_the_headers_are_not_logged(start_server, hostile, tmp_path):
    """Connections reset half-way through their headers end quietly: no traceback per
    connection (a log flood any client could cause)."""
    log_path = tmp_path / "server.log"
    target = start_server(log_path=str(log_path))
    for _ in range(20):
        sock = hostile(target)
        sock.send(b"GET /rtm HTTP/1.1\r\nHost: x\r\n")
        # (Accepted in order: this socket is in the middle of its headers by now.)
        assert target.get("/healthz")[0] == 200
        sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    wait_until(  # (every reset socket ended: only the scrape's own is open)
        lambda: target.metrics().value("rtm_sockets", state="http") == 1,
        timeout=10,
        what="the reset sockets ended",
    )
    assert target.get("/healthz")[0] == 200
    assert "Traceback" not in log_path.read_text()
