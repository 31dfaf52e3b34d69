"""/metrics, /healthz and /readyz on a real server: the figures move with real traffic."""

from __future__ import annotations

import gevent
import gevent.socket
import pytest
from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler

import rtm_actors as ra
from rtm_actors import InvitationApiCallErrCode as Api
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.server import RtmServer, ServerConfig
from rtm_actors.testing import CuttableProxy, EventRecorder, running_server, wait_until
from rtm_actors.testing.hostile import HostileSocket
from rtm_actors.testing.http import http_get
from rtm_actors.top import Snapshot, parse

pytestmark = pytest.mark.integration


def scrape(port: int) -> Snapshot:
    status, body = http_get(port, "/metrics")
    assert status == 200
    return parse(body, 0.0)


def latency_count(snap: Snapshot, kind: str) -> float:
    return snap.value("rtm_request_duration_seconds_count", kind=kind)


class CallRecorder(EventRecorder, ra.RtmCallEventHandler):
    """Records call-manager callbacks."""


def test_figures_move_with_real_traffic(make_client):
    """Logins, peer and channel messages, offline storage, errors, invitations and logouts
    each move their figures on /metrics."""
    with running_server() as srv:
        port = srv.port
        start = scrape(port)
        assert start.value("rtm_users_online") == 0
        assert start.value("rtm_ready") == 1

        alice, _alice_rec = make_client(srv.url)
        bob, _bob_rec = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        snap = scrape(port)
        assert snap.value("rtm_users_online") == 2
        assert snap.value("rtm_logins_total") == 2
        assert latency_count(snap, "login") == 2

        # A peer message: in, out, delivered, and its round trip timed.
        alice.send_message_to_peer("bob", alice.create_message("hi")).get(timeout=5)
        snap = scrape(port)
        assert snap.value("rtm_messages_in_total", kind="send_peer") == 1
        assert snap.value("rtm_messages_out_total", kind="peer_msg") == 1
        assert snap.value("rtm_peer_messages_total") == 1
        assert snap.value("rtm_deliveries_total", kind="peer") == 1
        assert latency_count(snap, "send_peer") == 1

        # Stored for an offline user, then picked up at its login.
        offline = ra.SendMessageOptions(enable_offline_messaging=True)
        code = alice.send_message_to_peer("carol", alice.create_message("later"), offline)
        assert code.get(timeout=5) is ra.PeerMessageErrCode.CACHED_BY_SERVER
        snap = scrape(port)
        assert snap.value("rtm_offline_messages_stored") == 1
        assert snap.value("rtm_offline_messages_saved_total") == 1

        # An error by code: a peer that is not there.
        with pytest.raises(ra.RtmError):
            alice.send_message_to_peer("nobody", alice.create_message("?")).get(timeout=5)
        snap = scrape(port)
        assert snap.value("rtm_errors_total", kind="send_peer", code="PEER_UNREACHABLE") == 1

        # A channel: it exists, has two members, and a message is delivered to the other one.
        channels = []
        for rtm in (alice, bob):
            channel = rtm.create_channel("lobby", ra.ChannelEventHandler())
            channel.join().get(timeout=5)
            channels.append(channel)
        channels[0].send_message(alice.create_message("all")).get(timeout=5)
        wait_until(lambda: scrape(port).value("rtm_deliveries_total", kind="channel") == 1)
        snap = scrape(port)
        assert snap.value("rtm_channels") == 1
        assert snap.value("rtm_channel_members") == 2
        assert snap.value("rtm_messages_in_total", kind="send_channel") == 1
        assert snap.value("rtm_messages_out_total", kind="channel_msg") == 1

        # An invitation, accepted.
        caller = alice.get_rtm_call_manager(CallRecorder())
        callee_rec = CallRecorder()
        callee = bob.get_rtm_call_manager(callee_rec)
        invitation = caller.create_local_call_invitation("bob")
        assert caller.send_local_invitation(invitation) is Api.OK
        ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
        assert callee.accept_remote_invitation(remote) is Api.OK
        wait_until(lambda: scrape(port).value("rtm_invitations_total", outcome="accepted") == 1)

        # A refused login, and a logout.
        srv.ban("testapp", "mallory")
        mallory, _ = make_client(srv.url)
        with pytest.raises(ra.RtmError):
            mallory.login(None, "mallory").get(timeout=5)
        bob.logout().get(timeout=5)
        wait_until(lambda: scrape(port).value("rtm_users_online") == 1)
        snap = scrape(port)
        assert snap.value("rtm_errors_total", kind="login", code="REJECTED") == 1
        assert snap.value("rtm_sessions_ended_total", reason="logout") == 1
        assert snap.value("rtm_banned_users") == 1

        carol, carol_rec = make_client(srv.url)
        carol.login(None, "carol").get(timeout=5)
        carol_rec.wait_for("on_message_received_from_peer")
        wait_until(lambda: scrape(port).value("rtm_offline_messages_stored") == 0)
        assert scrape(port).total("rtm_request_duration_seconds_count") >= 8


def test_a_dropped_link_is_counted_and_the_user_stays_online(make_client):
    """A cut websocket counts in rtm_links_lost_total while the user stays online (grace)."""
    with running_server(grace_period=5.0) as srv, CuttableProxy("127.0.0.1", srv.port) as proxy:
        rtm, _rec = make_client(proxy.url())
        rtm.login(None, "alice").get(timeout=5)
        proxy.cut()
        wait_until(lambda: scrape(srv.port).total("rtm_links_lost_total") == 1)
        assert scrape(srv.port).value("rtm_users_online") == 1


def test_health_and_readiness_while_serving(server):
    """/healthz and /readyz answer 200 while the server serves."""
    assert http_get(server.port, "/healthz") == (200, "ok\n")
    assert http_get(server.port, "/readyz") == (200, "ready\n")
    status, _ = http_get(server.port, "/nothing-here")
    assert status == 404


def test_probes_turn_503_once_a_mounted_server_stops():
    """Mounted in the host's own WSGI server, the probes answer 503 after stop()."""
    node = RtmServer(store="memory")
    host = WSGIServer(("127.0.0.1", 0), node.wsgi_app, handler_class=WebSocketHandler, log=None)
    host.start()
    try:
        port = host.server_port
        assert http_get(port, "/readyz")[0] == 200
        assert http_get(port, "/healthz")[0] == 200
        assert scrape(port).value("rtm_ready") == 1
        node.stop()
        assert http_get(port, "/readyz")[0] == 503
        assert http_get(port, "/healthz")[0] == 503
        status, body = http_get(port, "/metrics")
        assert status == 200
        assert "rtm_ready 0.0" in body
    finally:
        host.stop(timeout=1)


def test_two_servers_in_one_process_keep_their_own_figures(make_client):
    """Each server's /metrics counts only its own users."""
    with running_server() as one, running_server() as two:
        rtm, _ = make_client(one.url)
        rtm.login(None, "alice").get(timeout=5)
        assert scrape(one.port).value("rtm_users_online") == 1
        assert scrape(two.port).value("rtm_users_online") == 0
        assert one.metrics_registry is not two.metrics_registry


def test_metrics_can_be_turned_off():
    """With metrics=False, /metrics is 404 and the probes still answer."""
    with running_server(server_options={"metrics": False}) as srv:
        assert http_get(srv.port, "/metrics")[0] == 404
        assert http_get(srv.port, "/healthz")[0] == 200
        assert srv.metrics_registry is None


def test_scrapes_do_not_block_other_traffic(make_client):
    """Many scrapes at once while messages flow: every message still arrives."""
    with running_server() as srv:
        alice, _ = make_client(srv.url)
        bob, _bob_rec = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        scrapers = [gevent.spawn(scrape, srv.port) for _ in range(20)]
        futures = [
            alice.send_message_to_peer("bob", alice.create_message(str(i))) for i in range(50)
        ]
        for future in futures:
            assert future.get(timeout=10) is ra.PeerMessageErrCode.OK
        gevent.joinall(scrapers, timeout=10, raise_error=True)
        assert scrape(srv.port).value("rtm_deliveries_total", kind="peer") == 50


def ping_every(sock: HostileSocket, interval: float) -> None:
    while sock.ping():
        gevent.sleep(interval)  # (real time: pings past the login deadline under test)


def test_mounted_in_another_server_the_login_deadline_and_socket_counts_hold():
    """Mounted in the host's own WSGI server (no admission before the upgrade), an
    upgraded socket is counted as waiting for its login and closed 3009 at the login
    deadline even while it pings."""
    node = RtmServer(store="memory", config=ServerConfig(login_timeout=0.5))
    host = WSGIServer(("127.0.0.1", 0), node.wsgi_app, handler_class=WebSocketHandler, log=None)
    host.start()
    try:
        sock = HostileSocket(f"ws://127.0.0.1:{host.server_port}/rtm")
        assert "101" in sock.upgrade()
        wait_until(lambda: scrape(host.server_port).value("rtm_sockets", state="login") == 1)
        assert scrape(host.server_port).value("rtm_sockets", state="login") == 1
        pinger = gevent.spawn(ping_every, sock, 0.1)
        assert sock.close_code(timeout=2.0) == DisconnectCode.STALE
        pinger.kill()
        assert scrape(host.server_port).value("rtm_sockets", state="login") == 0
        sock.close()
    finally:
        node.stop()
        host.stop(timeout=1)
