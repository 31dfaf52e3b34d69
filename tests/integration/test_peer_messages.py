"""Peer messages online and offline, through a real server."""

from __future__ import annotations

import pytest

import rtm_actors as ra
from rtm_actors import MessageType, PeerMessageErrCode, SendMessageOptions
from rtm_actors.testing import running_server, wait_until

pytestmark = pytest.mark.integration
OFFLINE = SendMessageOptions(enable_offline_messaging=True)


def received(rec):
    return [
        (peer, msg.text, msg.is_offline_message)
        for peer, msg in rec.calls("on_message_received_from_peer")
    ]


def test_online_peer_message_is_delivered_and_acknowledged(logged_in):
    """OK comes back only after the receiver's SDK has the message, with a server timestamp."""
    alice, alice_rec = logged_in("alice")
    _, bob_rec = logged_in("bob")
    message = alice.create_message("hello bob")
    assert alice.send_message_to_peer("bob", message).get(timeout=5) is PeerMessageErrCode.OK
    bob_rec.wait_for("on_message_received_from_peer")
    assert received(bob_rec) == [("alice", "hello bob", False)]
    ((_, got),) = bob_rec.calls("on_message_received_from_peer")
    assert got.message_id == message.message_id
    assert got.server_received_ts > 0
    assert got.message_type is MessageType.TEXT
    assert alice_rec.wait_for("on_send_message_result") == [
        (message.message_id, PeerMessageErrCode.OK)
    ]


def test_raw_message_round_trips_bytes(logged_in):
    """A raw message keeps its bytes and its text description."""
    alice, _ = logged_in("alice")
    _, bob_rec = logged_in("bob")
    payload = bytes(range(256))
    alice.send_message_to_peer("bob", alice.create_message("blob", raw=payload)).get(timeout=5)
    bob_rec.wait_for("on_message_received_from_peer")
    ((_, got),) = bob_rec.calls("on_message_received_from_peer")
    assert got.raw_message == payload
    assert got.text == "blob"
    assert got.message_type is MessageType.RAW


def test_messages_from_one_sender_arrive_in_order(logged_in):
    """Many messages from one sender arrive once each, in the order sent."""
    alice, _ = logged_in("alice")
    _, bob_rec = logged_in("bob")
    futures = [alice.send_message_to_peer("bob", alice.create_message(str(i))) for i in range(300)]
    assert {f.get(timeout=10) for f in futures} == {PeerMessageErrCode.OK}
    bob_rec.wait_for("on_message_received_from_peer", count=300)
    assert [text for _, text, _ in received(bob_rec)] == [str(i) for i in range(300)]


def test_offline_peer_without_offline_messaging_is_unreachable(logged_in):
    """To an offline peer without the offline flag: PEER_UNREACHABLE, and nothing is stored."""
    alice, alice_rec = logged_in("alice")
    message = alice.create_message("anyone?")
    with pytest.raises(ra.RtmError) as caught:
        alice.send_message_to_peer("nobody", message).get(timeout=5)
    assert caught.value.code is PeerMessageErrCode.PEER_UNREACHABLE
    assert alice_rec.wait_for("on_send_message_result") == [
        (message.message_id, PeerMessageErrCode.PEER_UNREACHABLE)
    ]
    _, carol_rec = logged_in("nobody")
    assert received(carol_rec) == []


def test_offline_messages_are_cached_then_delivered_oldest_first(logged_in):
    """Offline messaging: CACHED_BY_SERVER, then delivered at login flagged offline, in order."""
    alice, _ = logged_in("alice")
    for i in range(5):
        code = alice.send_message_to_peer("carol", alice.create_message(f"m{i}"), OFFLINE).get(
            timeout=5
        )
        assert code is PeerMessageErrCode.CACHED_BY_SERVER
    _, carol_rec = logged_in("carol")
    carol_rec.wait_for("on_message_received_from_peer", count=5)
    assert received(carol_rec) == [("alice", f"m{i}", True) for i in range(5)]


def test_offline_store_keeps_the_first_200_and_refuses_the_rest(server, logged_in):
    """Offline messages for one receiver stop at 200: the first 200 are CACHED_BY_SERVER
    and delivered at login; each later one is PEER_UNREACHABLE (not kept), so no
    message answered CACHED_BY_SERVER is dropped for a newer one."""
    alice, _ = logged_in("alice")
    futures = [
        alice.send_message_to_peer("dave", alice.create_message(f"m{i}"), OFFLINE)
        for i in range(210)
    ]
    for f in futures[:200]:
        assert f.get(timeout=10) is PeerMessageErrCode.CACHED_BY_SERVER
    for f in futures[200:]:
        with pytest.raises(ra.RtmError) as caught:
            f.get(timeout=10)
        assert caught.value.code is PeerMessageErrCode.PEER_UNREACHABLE
    assert server.context.store.count("testapp", "dave") == 200
    _, dave_rec = logged_in("dave")
    dave_rec.wait_for("on_message_received_from_peer", count=200)
    assert [t for _, t, _ in received(dave_rec)] == [f"m{i}" for i in range(200)]


def test_delivered_offline_messages_leave_the_store(server, logged_in):
    """Once the receiver acknowledged them, offline messages are deleted and not sent again."""
    alice, _ = logged_in("alice")
    alice.send_message_to_peer("erin", alice.create_message("once"), OFFLINE).get(timeout=5)
    erin, erin_rec = logged_in("erin")
    erin_rec.wait_for("on_message_received_from_peer")
    wait_until(lambda: server.context.store.count("testapp", "erin") == 0)
    erin.logout().get(timeout=5)
    erin.login(None, "erin").get(timeout=5)
    alice.send_message_to_peer("erin", alice.create_message("second")).get(timeout=5)
    erin_rec.wait_for("on_message_received_from_peer", count=2)
    assert [t for _, t, _ in received(erin_rec)] == ["once", "second"]


def test_local_checks_fail_without_touching_the_server(server, make_client, logged_in):
    """Bad peer id, oversize message, and not logged in fail locally with Agora's codes."""
    idle, _ = make_client(server.url)
    with pytest.raises(ra.RtmError) as caught:
        idle.send_message_to_peer("bob", idle.create_message("x")).get(timeout=5)
    assert caught.value.code is PeerMessageErrCode.USER_NOT_LOGGED_IN
    alice, _ = logged_in("alice")
    with pytest.raises(ra.RtmError) as caught:
        alice.send_message_to_peer("bad/id", alice.create_message("x")).get(timeout=5)
    assert caught.value.code is PeerMessageErrCode.INVALID_USERID
    with pytest.raises(ra.RtmError) as caught:
        alice.send_message_to_peer("bob", alice.create_message("x" * (32 * 1024 + 1))).get(
            timeout=5
        )
    assert caught.value.code is PeerMessageErrCode.INVALID_MESSAGE
    exact = alice.create_message("y" * (32 * 1024))
    with pytest.raises(ra.RtmError) as caught:
        alice.send_message_to_peer("offline-user", exact).get(timeout=5)
    assert caught.value.code is PeerMessageErrCode.PEER_UNREACHABLE


def test_message_rate_limit_answers_too_often(make_client):
    """Past the per-session message rate the server answers TOO_OFTEN."""
    with running_server(message_rate=20, message_rate_window=60.0) as srv:
        alice, _ = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        results = []
        for i in range(25):
            try:
                results.append(
                    alice.send_message_to_peer("nobody", alice.create_message(str(i))).get(5)
                )
            except ra.RtmError as exc:
                results.append(exc.code)
        assert results.count(PeerMessageErrCode.TOO_OFTEN) == 5
        assert results[:20] == [PeerMessageErrCode.PEER_UNREACHABLE] * 20


def test_sending_one_message_twice_is_a_retry(logged_in):
    """The same Message object sent twice reaches the receiver once (server de-duplication)."""
    alice, _ = logged_in("alice")
    _, bob_rec = logged_in("bob")
    message = alice.create_message("just once")
    assert alice.send_message_to_peer("bob", message).get(timeout=5) is PeerMessageErrCode.OK
    assert alice.send_message_to_peer("bob", message).get(timeout=5) is PeerMessageErrCode.OK
    bob_rec.wait_for("on_message_received_from_peer")
    alice.send_message_to_peer("bob", alice.create_message("marker")).get(timeout=5)
    bob_rec.wait_for("on_message_received_from_peer", count=2)
    assert received(bob_rec)[:1] == [("alice", "just once", False)]
    assert received(bob_rec) == [
        ("alice", "just once", False),
        ("alice", "marker", False),
    ]


def test_apps_are_isolated(server, make_client):
    """A user of one app id cannot reach a user of the same name in another app."""
    alice, _ = make_client(server.url, app_id="app_one")
    bob_other, bob_rec = make_client(server.url, app_id="app_two")
    alice.login(None, "alice").get(timeout=5)
    bob_other.login(None, "bob").get(timeout=5)
    with pytest.raises(ra.RtmError) as caught:
        alice.send_message_to_peer("bob", alice.create_message("hi")).get(timeout=5)
    assert caught.value.code is PeerMessageErrCode.PEER_UNREACHABLE
    assert received(bob_rec) == []


def test_a_stuck_callback_of_one_service_holds_up_no_ones_network_io(server, logged_in):
    """One service's handler blocked in a callback: other services still send and
    receive, and the stuck service itself still acknowledges and sends."""
    import gevent.event

    from rtm_actors.testing.server import fast_client_config

    release = gevent.event.Event()

    class Stuck(ra.RtmServiceEventHandler):
        def __init__(self) -> None:
            self.got: list[str] = []

        def on_message_received_from_peer(self, peer_id, message):
            self.got.append(message.text)
            release.wait()

    handler = Stuck()
    stuck = ra.create_agora_service().create_rtm_service()
    stuck.initialize("testapp", handler, server_url=server.url, config=fast_client_config())
    try:
        stuck.login(None, "stuck").get(timeout=5)
        alice, _ = logged_in("alice")
        _, bob_rec = logged_in("bob")
        ok = PeerMessageErrCode.OK
        assert (
            alice.send_message_to_peer("stuck", alice.create_message("hold")).get(timeout=5) is ok
        )
        wait_until(lambda: handler.got == ["hold"], timeout=5)
        for i in range(5):
            assert (
                alice.send_message_to_peer("bob", alice.create_message(f"m{i}")).get(timeout=5)
                is ok
            )
        bob_rec.wait_for("on_message_received_from_peer", count=5)
        assert (
            alice.send_message_to_peer("stuck", alice.create_message("more")).get(timeout=5) is ok
        )
        assert stuck.send_message_to_peer("bob", stuck.create_message("out")).get(timeout=5) is ok
        release.set()
        wait_until(lambda: handler.got == ["hold", "more"], timeout=5)
    finally:
        release.set()
        stuck.release()
