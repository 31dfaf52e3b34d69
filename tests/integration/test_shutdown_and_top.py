"""``rtm-actors serve`` under SIGTERM with clients connected, and ``rtm-actors top``."""

from __future__ import annotations

import json
import signal
import sys

import gevent
import gevent.socket
import gevent.subprocess
import pytest

import rtm_actors as ra
from rtm_actors import ConnectionState as State
from rtm_actors.runtime import now
from rtm_actors.testing import running_server, wait_until

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "rtm_actors.cli"]
#: ServerConfig.shutdown_timeout (5 s) plus start-up slack: the exit must come sooner.
EXIT_BOUND = 8.0


def free_port() -> int:
    with gevent.socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def probe(port: int, path: str = "/readyz") -> int | None:
    """The HTTP status of GET ``path``, or None if nothing listens."""
    try:
        with gevent.socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return None
    return int(head.split()[1]) if head else None


def serve(port: int, store: str, log_path) -> gevent.subprocess.Popen:
    """Start ``rtm-actors serve`` and wait until it is ready."""
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
    proc = gevent.subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--store", store, "--log-level", "info"],
        stdout=gevent.subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    wait_until(lambda: probe(port) == 200 or proc.poll() is not None, timeout=20, what="ready")
    assert proc.poll() is None, log_path.read_text()
    return proc


def stop(proc: gevent.subprocess.Popen) -> tuple[int, float]:
    """SIGTERM; answer the exit code and how long the exit took."""
    started = now()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=EXIT_BOUND + 5)
    return code, now() - started


def server_events(log_path) -> list[dict]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line[:1] == "{"]


def test_sigterm_tells_clients_flushes_and_a_restart_takes_them_back(make_client, tmp_path):
    """On SIGTERM the server exits 0 in bounded time; its clients see RECONNECTING (not
    ABORTED), reconnect by themselves to the restarted server, and can message; a message
    stored before the stop is still there."""
    port = free_port()
    store = f"sqlite:///{tmp_path / 'rtm.db'}"
    log_path = tmp_path / "server.log"
    url = f"ws://127.0.0.1:{port}/rtm"
    first = serve(port, store, log_path)
    try:
        alice, alice_rec = make_client(url)
        bob, bob_rec = make_client(url)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        offline = ra.SendMessageOptions(enable_offline_messaging=True)
        kept = alice.send_message_to_peer("carol", alice.create_message("kept"), offline)
        assert kept.get(timeout=5) is ra.PeerMessageErrCode.CACHED_BY_SERVER
    finally:
        code, took = stop(first)
    assert code == 0
    assert took < EXIT_BOUND
    for rec in (alice_rec, bob_rec):
        rec.wait_for("on_connection_state_changed", lambda s, r: s is State.RECONNECTING)
    states = [
        s for rec in (alice_rec, bob_rec) for s, _ in rec.calls("on_connection_state_changed")
    ]
    assert State.ABORTED not in states
    events = server_events(log_path)
    ended = [e for e in events if e["event"] == "session_ended"]
    assert sorted(e["user_id"] for e in ended) == ["alice", "bob"]
    assert {e["why"] for e in ended} == {"shutdown"}
    assert any(e["event"] == "server_stopped" and e["sessions"] == 2 for e in events)

    second = serve(port, store, log_path)
    try:
        for rec in (alice_rec, bob_rec):
            rec.wait_for(
                "on_connection_state_changed",
                lambda s, r: s is State.CONNECTED,
                count=2,
                timeout=10,
            )
        sent = alice.send_message_to_peer("bob", alice.create_message("after the restart"))
        assert sent.get(timeout=5) is ra.PeerMessageErrCode.OK
        bob_rec.wait_for("on_message_received_from_peer")
        carol, carol_rec = make_client(url)
        carol.login(None, "carol").get(timeout=5)
        ((sender, message),) = carol_rec.wait_for("on_message_received_from_peer")
        assert (sender, message.text, message.is_offline_message) == ("alice", "kept", True)
        assert len(alice_rec.calls("on_login_success")) == 1  # a reconnect, not a new login
    finally:
        code, took = stop(second)
    assert code == 0
    assert took < EXIT_BOUND


def test_canonical_login_and_disconnect_lines(make_client, tmp_path):
    """The server writes one session_attached and one session_ended line per session,
    with the fields an operator looks for."""
    port = free_port()
    log_path = tmp_path / "server.log"
    proc = serve(port, "memory", log_path)
    try:
        rtm, _ = make_client(f"ws://127.0.0.1:{port}/rtm")
        rtm.login(None, "dave").get(timeout=5)
        rtm.logout().get(timeout=5)
        wait_until(
            lambda: any(e["event"] == "session_ended" for e in server_events(log_path)), timeout=5
        )
    finally:
        assert stop(proc)[0] == 0
    events = server_events(log_path)
    (attached,) = [e for e in events if e["event"] == "session_attached"]
    (ended,) = [e for e in events if e["event"] == "session_ended"]
    for line in (attached, ended):
        assert line["app_id"] == "testapp"
        assert line["user_id"] == "dave"
        assert line["session"]
        assert line["peer"].startswith("127.0.0.1:")
        assert line["level"] == "info"
        assert line["timestamp"]
    assert attached["resumed"] is False
    assert attached["links"] == 1
    assert ended["why"] == "logout"
    assert set(ended) >= {"seconds", "sent", "received", "links", "channels", "unacked"}


def test_top_shows_the_figures_of_a_running_server(make_client):
    """``rtm-actors top --count 2`` prints two plain lines with the server's figures."""
    with running_server() as srv:
        rtm, _ = make_client(srv.url)
        rtm.login(None, "alice").get(timeout=5)
        result = gevent.subprocess.run(
            [*CLI, "top", "--url", srv.url, "--count", "2", "--interval", "0.3"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all("users=1" in line and "ready=1" in line for line in lines)
    assert "in/s=-" in lines[0]
    assert "in/s=-" not in lines[1]
