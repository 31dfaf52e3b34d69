"""The protocol heartbeat keeps a healthy link with sparse traffic: it never mistakes a
quiet stretch for a dead server."""

from __future__ import annotations

import gevent
import pytest

from rtm_actors import ConnectionState, PeerMessageErrCode
from rtm_actors.testing import CuttableProxy, running_server

pytestmark = pytest.mark.integration

#: A timeout shorter than two intervals, as the defaults are (10 s and 15 s).
HEARTBEAT = {"heartbeat_interval": 0.5, "heartbeat_timeout": 0.7}


def test_one_exchange_between_heartbeats_does_not_end_the_link(make_client):
    """bob sends one message 0.3 s after logging in (its receipt comes back), then
    nothing. The heartbeat at 0.5 s sees frames both ways and skips its ping; it must
    ping when the link has been quiet an interval. (It used to look again a whole
    interval later, find 0.7 s of silence, and drop the healthy link: a resume every
    two intervals for every user with sparse traffic.)"""
    with (
        running_server(idle_timeout=5.0) as srv,
        CuttableProxy("127.0.0.1", srv.port) as proxy,
    ):
        alice, _ = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        bob, rec = make_client(proxy.url(), **HEARTBEAT)
        bob.login(None, "bob").get(timeout=5)
        gevent.sleep(0.3)
        receipt = bob.send_message_to_peer("alice", bob.create_message("hi")).get(timeout=5)
        assert receipt is PeerMessageErrCode.OK
        gevent.sleep(2.0)  # four intervals, nearly three timeouts
        assert proxy.accepted == 1, "the link was dropped and opened again"
        assert [state for state, _ in rec.calls("on_connection_state_changed")] == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
        ]


def test_an_idle_link_is_kept_by_pings_from_the_hub_not_the_supervisor(monkeypatch, make_client):
    """bob stays idle for three of the server's idle timeouts: his heartbeat pings keep
    the one link, and they are written from the process's timer wheel, with no turn of
    his connection supervisor (a heartbeat turn per user every interval was most of an
    idle user's CPU)."""
    from rtm_actors.client import messages as cm
    from rtm_actors.client.supervisor import ConnectionSupervisor

    turns: list[object] = []
    original = ConnectionSupervisor.on_receive

    def counting(self, message):
        turns.append(message)
        return original(self, message)

    monkeypatch.setattr(ConnectionSupervisor, "on_receive", counting)
    with (
        running_server(idle_timeout=0.6) as srv,
        CuttableProxy("127.0.0.1", srv.port) as proxy,
    ):
        bob, rec = make_client(proxy.url(), heartbeat_interval=0.2, heartbeat_timeout=0.5)
        bob.login(None, "bob").get(timeout=5)
        turns.clear()
        gevent.sleep(1.8)
        assert proxy.accepted == 1, "the server cut the idle link off"
        assert not [t for t in turns if isinstance(t, cm.SupervisorTimerFired)]
        assert rec.calls("on_connection_state_changed")[-1][0] is ConnectionState.CONNECTED
