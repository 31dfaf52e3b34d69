"""A dead network is found by the kernel's TCP keepalive, on both ends, with the
protocol heartbeat far too slow to be the one that notices.

The proxy's ``go_silent`` makes a link die as a broken network or a powered-off host
does: packets vanish, nothing is ACKed, no RST ever comes (a stopped process would
still have its kernel ACK; that case is the heartbeat's). Linux only."""

from __future__ import annotations

import sys

import pytest

from rtm_actors import ConnectionState, PeerOnlineState as S
from rtm_actors.client import link as link_module
from rtm_actors.testing import CuttableProxy, running_server, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform != "linux", reason="SO_ATTACH_FILTER is Linux's"),
]

#: App heartbeats so slow that only the kernel can notice within the tests' waits.
SLOW_HEARTBEAT = {"heartbeat_interval": 30.0, "heartbeat_timeout": 60.0}


def test_the_client_notices_a_silent_server_and_reconnects(monkeypatch, make_client):
    """The server's side goes silent: bob's kernel gives up after its keepalive timeout
    (2 s here), so bob's SDK drops the link and logs in again through the proxy, long
    before its heartbeat timeout (60 s) could have noticed."""
    monkeypatch.setattr(link_module, "KEEPALIVE_TIMEOUT", 2.0)
    # (The server keeps quiet: no keepalive of its own, no idle timeout meanwhile.)
    with (
        running_server(keepalive_timeout=0.0, idle_timeout=60.0) as srv,
        CuttableProxy("127.0.0.1", srv.port) as proxy,
    ):
        bob, rec = make_client(proxy.url(), **SLOW_HEARTBEAT)
        bob.login(None, "bob").get(timeout=5)
        assert proxy.go_silent() == 1
        wait_until(lambda: proxy.accepted == 2, timeout=15, what="bob's second link")
        # bob is logged in again, on the new link (whether or not the link was down
        # long enough, 0.5 s here, to report RECONNECTING meanwhile).
        assert bob.query_peers_online_status(["bob"]).get(timeout=5) == {"bob": S.ONLINE}
        assert rec.calls("on_connection_state_changed")[-1][0] is ConnectionState.CONNECTED


def test_the_server_notices_a_silent_client(monkeypatch, make_client):
    """bob's side goes silent and bob's SDK does not notice (no keepalive, slow
    heartbeat): the server's kernel gives up after its keepalive timeout (2 s here),
    long before the idle timeout (60 s), and a subscriber sees bob UNREACHABLE."""
    monkeypatch.setattr(link_module, "KEEPALIVE_TIMEOUT", 0.0)
    with running_server(keepalive_timeout=2.0, idle_timeout=60.0, unreachable_after=0.2) as srv:
        watcher, rec = make_client(srv.url)
        watcher.login(None, "watcher").get(timeout=5)
        assert watcher.subscribe_peers_online_status(["bob"]).get(timeout=5) is None
        with CuttableProxy("127.0.0.1", srv.port) as proxy:
            bob, _ = make_client(proxy.url(), **SLOW_HEARTBEAT)
            bob.login(None, "bob").get(timeout=5)
            rec.wait_for(
                "on_peers_online_status_changed", lambda states: states.get("bob") is S.ONLINE
            )
            assert proxy.go_silent() == 1
            rec.wait_for(
                "on_peers_online_status_changed",
                lambda states: states.get("bob") is S.UNREACHABLE,
                timeout=15,
            )
            bob.release()


def test_a_hung_server_process_is_left_to_the_heartbeat(make_client):
    """The server's side stops forwarding but its kernel still ACKs (a stopped
    process): keepalive sees a live peer, and the heartbeat (timeout 2 s here) is what
    drops the link; bob logs in again on a new one."""
    with running_server() as srv, CuttableProxy("127.0.0.1", srv.port) as proxy:
        bob, _ = make_client(proxy.url())
        bob.login(None, "bob").get(timeout=5)
        assert proxy.freeze() == 1
        wait_until(lambda: proxy.accepted == 2, timeout=15, what="bob's second link")
        assert bob.query_peers_online_status(["bob"]).get(timeout=5) == {"bob": S.ONLINE}
