"""set_parameters with real clients: each timing key takes effect, bad input is refused."""

from __future__ import annotations

import json

import gevent
import pytest
from gevent.server import StreamServer

import rtm_actors as ra
from rtm_actors import ConnectionState as State
from rtm_actors.runtime import now
from rtm_actors.testing import CuttableProxy

pytestmark = pytest.mark.integration


def params(**values) -> str:
    return json.dumps({f"rtm.{k.replace('__', '.')}": v for k, v in values.items()})


def failure_after(future, timeout=10.0):
    """Wait for ``future`` to fail; answer (error code, seconds it took)."""
    started = now()
    with pytest.raises(ra.RtmError) as caught:
        future.get(timeout=timeout)
    return caught.value.code, now() - started


@pytest.fixture
def silent_server():
    """A TCP server that accepts and reads but never answers (a hung server)."""
    held = []

    def hold(sock, _address):
        held.append(sock)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass

    srv = StreamServer(("127.0.0.1", 0), hold)
    srv.start()
    yield f"ws://127.0.0.1:{srv.server_port}/rtm"
    srv.stop(timeout=1)


def test_login_timeout(make_client, silent_server):
    """rtm.login_timeout: a login to a hung server fails with TIMEOUT after that long."""
    rtm, _rec = make_client(silent_server, login_timeout=10.0)
    assert rtm.set_parameters(params(login_timeout=0.6)) == 0
    code, took = failure_after(rtm.login(None, "alice"))
    assert code is ra.LoginErrCode.TIMEOUT
    assert 0.5 <= took < 3.0


def test_server_url(server, make_client):
    """rtm.server_url: the next login goes to the URL given, not the one at initialize."""
    rtm, _rec = make_client("ws://127.0.0.1:9/rtm")
    assert rtm.set_parameters(params(server_url=server.url)) == 0
    rtm.login(None, "alice").get(timeout=5)
    assert rtm.connection_state is State.CONNECTED


def test_reconnect_backoff_bounds(server, make_client):
    """rtm.reconnect.min_backoff/max_backoff: a dropped link waits that long before retrying."""
    with CuttableProxy("127.0.0.1", server.port) as proxy:
        rtm, rec = make_client(proxy.url(), interrupt_after=0.5)
        rtm.login(None, "alice").get(timeout=5)
        slow = params(reconnect__min_backoff=1.6, reconnect__max_backoff=1.6)
        assert rtm.set_parameters(slow) == 0
        cut_at = now()
        proxy.cut()
        # The first retry comes after 0.8-1.6 s (jittered), so the app sees RECONNECTING.
        rec.wait_for("on_connection_state_changed", lambda s, r: s is State.RECONNECTING)
        rec.wait_for("on_connection_state_changed", lambda s, r: s is State.CONNECTED, count=2)
        assert now() - cut_at >= 0.75
        # Back to short bounds: the next drop is healed before the app is told.
        changes = len(rec.calls("on_connection_state_changed"))
        short = params(reconnect__min_backoff=0.05, reconnect__max_backoff=0.1)
        assert rtm.set_parameters(short) == 0
        proxy.cut()
        gevent.sleep(1.0)  # (real time: past interrupt_after, when the app would be told)
        assert len(rec.calls("on_connection_state_changed")) == changes
        assert rtm.connection_state is State.CONNECTED


@pytest.fixture
def stranded(server, make_client):
    """A logged-in client whose link is down for good (its proxy stopped)."""
    proxy = CuttableProxy("127.0.0.1", server.port).start()
    rtm, _rec = make_client(proxy.url())
    rtm.login(None, "alice").get(timeout=5)
    proxy.stop()
    yield rtm
    rtm.logout()


def test_request_timeout(stranded):
    """rtm.request_timeout: an attribute request that cannot be answered times out then."""
    assert stranded.set_parameters(params(request_timeout=0.5)) == 0
    code, took = failure_after(stranded.get_user_attributes("bob"))
    assert code is ra.AttributeOperationErr.TIMEOUT
    assert took < 2.0


def test_presence_timeout(stranded):
    """rtm.presence_timeout: a presence query that cannot be answered times out then."""
    assert stranded.set_parameters(params(presence_timeout=0.5)) == 0
    code, took = failure_after(stranded.query_peers_online_status(["bob"]))
    assert code is ra.QueryPeersOnlineStatusErr.TIMEOUT
    assert took < 2.0


def test_peer_message_timeout(stranded):
    """rtm.peer_message_timeout: a peer message that cannot be delivered times out then."""
    assert stranded.set_parameters(params(peer_message_timeout=0.5)) == 0
    code, took = failure_after(stranded.send_message_to_peer("bob", stranded.create_message("x")))
    assert code is ra.PeerMessageErrCode.SENT_TIMEOUT
    assert took < 2.0


def test_log_keys(server, make_client, tmp_path):
    """rtm.log_file, rtm.log_filter and rtm.log_file_size act as the three setters do."""
    rtm, _rec = make_client(server.url)
    path = tmp_path / "rtm.log"
    text = params(log_file=str(path), log_filter=int(ra.LogFilter.WARN), log_file_size=512)
    assert rtm.set_parameters(text) == 0
    assert path.exists()
    rtm.login(None, "alice").get(timeout=5)
    rtm.query_peers_online_status([])  # refused locally: one warning
    rtm.logout().get(timeout=5)
    levels = [json.loads(line)["level"] for line in path.read_text().splitlines()]
    assert levels
    assert set(levels) <= {"warning", "error", "critical"}
    assert rtm._sdk_log.size_kb == 512


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", -2),
        ("[]", -2),
        ('{"rtm.login_timeout": "soon"}', -2),
        ('{"rtm.server_url": "http://example.com"}', -2),
        ('{"rtm.log_file_size": 1}', -2),
        ('{"rtm.unknown": 1}', -4),
        ('{"rtm.login_timeout": 1, "rtm.unknown": 1}', -4),
    ],
)
def test_bad_input_changes_nothing_and_is_logged(make_client, tmp_path, text, code):
    """Bad JSON, bad values and unknown keys give a non-zero code and a log line, no change."""
    rtm, _rec = make_client("ws://127.0.0.1:9/rtm")
    path = tmp_path / "rtm.log"
    assert rtm.set_log_file(str(path)) == 0
    before = rtm._config
    assert rtm.set_parameters(text) == code
    assert rtm._config is before
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[-1]["event"] == "parameter_refused"
    assert lines[-1]["level"] == "warning"
