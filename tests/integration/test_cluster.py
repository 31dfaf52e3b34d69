"""Three nodes on one Redis are one RTM system: peers, channels, presence, logins, calls."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import rtm_actors as ra
from rtm_actors import PeerMessageErrCode, PeerOnlineState, SendMessageOptions
from rtm_actors.server.invitation_actor import invitations_in_flight
from rtm_actors.testing import EventRecorder, running_server, settle, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.redis]
OFFLINE = SendMessageOptions(enable_offline_messaging=True)


class ChannelRecorder(EventRecorder, ra.ChannelEventHandler):
    """Records every channel callback."""


@pytest.fixture
def nodes(redis_url) -> Iterator[list[Any]]:
    """Three server nodes in this process, on three ports, sharing one Redis database.

    The shared test Redis keeps nothing on disk: the nodes assume it durable so that
    offline messages are cached (test_redis_durability tests the refusal)."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(running_server(store=redis_url, assume_redis_durable=True))
            for _ in range(3)
        ]


@pytest.fixture
def login(nodes, make_client):
    """``login(user, node_index) -> (rtm, recorder)`` on that node."""

    def log_in(user_id: str, node: int, **config: Any) -> tuple[ra.RtmService, EventRecorder]:
        rtm, rec = make_client(nodes[node].url, **config)
        rtm.login(None, user_id).get(timeout=5)
        return rtm, rec

    return log_in


def texts(rec: EventRecorder, callback: str = "on_message_received_from_peer") -> list[str]:
    return [msg.text for _, msg in rec.calls(callback)]


def test_peer_messages_cross_nodes_both_ways(login):
    """A message to a user on another node is delivered, and OK comes back to the sender."""
    alice, alice_rec = login("alice", 0)
    bob, bob_rec = login("bob", 1)
    for i in range(50):
        msg = alice.create_message(f"a{i}")
        assert alice.send_message_to_peer("bob", msg).get(timeout=5) is PeerMessageErrCode.OK
    reply = bob.create_message("hi alice")
    assert bob.send_message_to_peer("alice", reply).get(timeout=5) is PeerMessageErrCode.OK
    bob_rec.wait_for("on_message_received_from_peer", count=50)
    assert texts(bob_rec) == [f"a{i}" for i in range(50)]
    assert [p for p, _ in bob_rec.calls("on_message_received_from_peer")] == ["alice"] * 50
    alice_rec.wait_for("on_message_received_from_peer")
    assert texts(alice_rec) == ["hi alice"]


def test_cluster_figures_on_metrics(nodes, login):
    """Each node's /metrics says whether it reaches Redis and what crossed nodes."""
    alice, _ = login("alice", 0)
    login("bob", 1)
    assert alice.send_message_to_peer("bob", alice.create_message("x")).get(timeout=5) is (
        PeerMessageErrCode.OK
    )
    for server in nodes[:2]:
        registry = server.metrics_registry
        assert registry.get_sample_value("rtm_cluster_redis_up") == 1
        assert registry.get_sample_value("rtm_cluster_published_total") >= 1
        assert registry.get_sample_value("rtm_cluster_received_total") >= 1
        assert registry.get_sample_value("rtm_cluster_publish_dropped_total") == 0


def test_offline_message_is_kept_in_redis_for_a_login_on_any_node(login):
    """A message cached for an offline user is delivered when it logs in on another node."""
    alice, _ = login("alice", 0)
    msg = alice.create_message("while you were away")
    assert alice.send_message_to_peer("bob", msg, OFFLINE).get(timeout=5) is (
        PeerMessageErrCode.CACHED_BY_SERVER
    )
    _, bob_rec = login("bob", 2)
    bob_rec.wait_for("on_message_received_from_peer")
    ((_, got),) = bob_rec.calls("on_message_received_from_peer")
    assert (got.text, got.is_offline_message) == ("while you were away", True)


def test_unknown_peer_is_unreachable_and_attributes_are_shared(login):
    """Nobody logged in anywhere: unreachable; a user's attributes are read from any node."""
    alice, _ = login("alice", 0)
    bob, _ = login("bob", 1)
    with pytest.raises(ra.RtmError) as caught:
        alice.send_message_to_peer("nobody", alice.create_message("anyone?")).get(timeout=5)
    assert caught.value.code is PeerMessageErrCode.PEER_UNREACHABLE
    bob.set_local_user_attributes({"mood": "sunny"}).get(timeout=5)
    assert alice.get_user_attributes("bob").get(timeout=5) == {"mood": "sunny"}


def test_channel_with_members_on_every_node(login):
    """Messages and member events reach the members on all three nodes, once each."""
    users = [login(f"u{i}", i) for i in range(3)]
    rooms = []
    for rtm, _ in users:
        rec = ChannelRecorder()
        channel = rtm.create_channel("room", rec)
        channel.join().get(timeout=5)
        rooms.append((channel, rec))
    rooms[0][1].wait_for("on_member_joined", count=2)
    assert sorted(m.user_id for (m,) in rooms[0][1].calls("on_member_joined")) == ["u1", "u2"]
    members = rooms[2][0].get_members().get(timeout=5)
    assert sorted(m.user_id for m in members) == ["u0", "u1", "u2"]
    counts = users[1][0].get_channel_member_count(["room", "empty"]).get(timeout=5)
    assert counts == {"room": 3, "empty": 0}
    for sender in range(3):
        channel, _ = rooms[sender]
        for i in range(10):
            channel.send_message(users[sender][0].create_message(f"{sender}:{i}")).get(timeout=5)
    for me, (_, rec) in enumerate(rooms):
        rec.wait_for("on_message_received", count=20)
        got = [(u, m.text) for u, m in rec.calls("on_message_received")]
        assert len(got) == 20
        for sender in range(3):
            mine = [t for u, t in got if u == f"u{sender}"]
            assert mine == ([] if sender == me else [f"{sender}:{i}" for i in range(10)])
    rooms[1][0].leave().get(timeout=5)
    rooms[0][1].wait_for("on_member_left")
    rooms[2][1].wait_for("on_member_left")
    assert [m.user_id for (m,) in rooms[2][1].calls("on_member_left")] == ["u1"]


def test_channel_attributes_are_shared(login):
    """Attributes written through one node are read, and notified, on another."""
    alice, _ = login("alice", 0)
    bob, _ = login("bob", 1)
    rec = ChannelRecorder()
    bob.create_channel("room", rec).join().get(timeout=5)
    opts = ra.ChannelAttributeOptions(enable_notification_to_channel_members=True)
    alice.set_channel_attributes("room", {"topic": "cats"}, opts).get(timeout=5)
    ((attrs,),) = rec.wait_for("on_attributes_updated")
    assert [(a.key, a.value) for a in attrs] == [("topic", "cats")]
    got = bob.get_channel_attributes("room").get(timeout=5)
    assert [(a.key, a.value, a.last_update_user_id) for a in got] == [("topic", "cats", "alice")]


def test_presence_subscriptions_across_nodes(login):
    """A watcher on one node sees a user on another come online and go offline."""
    watcher, watcher_rec = login("watcher", 0)
    watcher.subscribe_peers_online_status(["bob"]).get(timeout=5)
    assert watcher_rec.wait_for("on_peers_online_status_changed") == [
        ({"bob": PeerOnlineState.OFFLINE},)
    ]
    bob, _ = login("bob", 1)
    watcher_rec.wait_for(
        "on_peers_online_status_changed",
        lambda states: states.get("bob") is PeerOnlineState.ONLINE,
    )
    states = watcher.query_peers_online_status(["bob", "carol"]).get(timeout=5)
    assert states == {"bob": PeerOnlineState.ONLINE, "carol": PeerOnlineState.OFFLINE}
    bob.logout().get(timeout=5)
    watcher_rec.wait_for(
        "on_peers_online_status_changed",
        lambda states: states.get("bob") is PeerOnlineState.OFFLINE,
    )


def test_remote_login_across_nodes(login):
    """Logging in on another node kicks the older session, which is told REMOTE_LOGIN."""
    first, first_rec = login("bob", 0)
    second, _ = login("bob", 2)
    first_rec.wait_for(
        "on_connection_state_changed",
        lambda state, reason: reason is ra.ConnectionChangeReason.REMOTE_LOGIN,
    )
    assert first.connection_state is ra.ConnectionState.ABORTED
    assert second.connection_state is ra.ConnectionState.CONNECTED
    alice, _ = login("alice", 1)
    msg = alice.create_message("to the new one")
    assert alice.send_message_to_peer("bob", msg).get(timeout=5) is PeerMessageErrCode.OK


class CallRecorder(EventRecorder, ra.RtmCallEventHandler):
    """Records every call-manager callback."""


def test_invitation_across_nodes(login):
    """A call invitation from one node is received, accepted and reported across nodes."""
    caller_rtm, _ = login("caller", 0)
    callee_rtm, _ = login("callee", 1)
    caller_rec, callee_rec = CallRecorder(), CallRecorder()
    caller = caller_rtm.get_rtm_call_manager(caller_rec)
    callee = callee_rtm.get_rtm_call_manager(callee_rec)
    inv = caller.create_local_call_invitation("callee")
    inv.content = "let's talk"
    assert caller.send_local_invitation(inv) is ra.InvitationApiCallErrCode.OK
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    assert (remote.caller_id, remote.content) == ("caller", "let's talk")
    caller_rec.wait_for("on_local_invitation_received_by_peer")
    remote.response = "coming"
    assert callee.accept_remote_invitation(remote) is ra.InvitationApiCallErrCode.OK
    assert caller_rec.wait_for("on_local_invitation_accepted") == [(inv, "coming")]
    callee_rec.wait_for("on_remote_invitation_accepted")
    assert inv.state is ra.LocalInvitationState.ACCEPTED_BY_REMOTE
    assert remote.state is ra.RemoteInvitationState.ACCEPTED


def test_member_that_logs_in_on_another_node_stays_one_member(nodes, login):
    """A channel member logging in again elsewhere (and re-joining) is one member."""
    u0, _ = login("u0", 0)
    watch = ChannelRecorder()
    room = u0.create_channel("room", watch)
    room.join().get(timeout=5)
    bob, _ = login("bob", 1)
    bob.create_channel("room", ChannelRecorder()).join().get(timeout=5)
    watch.wait_for("on_member_joined")
    bob_again, _ = login("bob", 2)
    bob_again.create_channel("room", ChannelRecorder()).join().get(timeout=5)
    wait_until(lambda: bob.connection_state is ra.ConnectionState.ABORTED, 5, "old bob kicked")
    wait_until(lambda: nodes[1].context.channels.members() == 0, 5, "old bob's leave")
    # u0's node holds bob as a member of the new bob's node (its join and the old one's
    # leave, which come through Redis in either order, both heard).
    new_node = nodes[2].context.cluster.node_id
    wait_until(lambda: remote_members(nodes[0], "room") == {"bob": new_node}, 5, "bob moved")
    settle()  # (and what they set going in this process has run)
    assert sorted(m.user_id for m in room.get_members().get(timeout=5)) == ["bob", "u0"]
    assert u0.get_channel_member_count(["room"]).get(timeout=5) == {"room": 2}
    # (The old session left, the new one joined: members saw that, or nothing.)
    left = len(watch.calls("on_member_left"))
    assert len(watch.calls("on_member_joined")) == 1 + left


def remote_members(node: Any, channel_id: str) -> dict[str, str]:
    """The members on other nodes that ``node``'s channel actor holds (user -> node):
    its own state, read in this process (the SDK's member list is rate-limited)."""
    ref = node.context.channels.get("testapp", channel_id)
    actor = ref._actor_weakref() if ref is not None else None
    return dict(actor._remote) if actor is not None else {}


def test_a_ban_holds_on_every_node(nodes, login, make_client):
    """A ban through one node ends the user's session on another and refuses its logins
    on all; lifting it lets the user back in anywhere."""
    bob, bob_rec = login("bob", 1)
    nodes[0].ban("testapp", "bob")
    wait_until(lambda: bob.connection_state is ra.ConnectionState.ABORTED, 5, "bob kicked")
    bob_rec.wait_for(
        "on_connection_state_changed",
        lambda state, reason: reason is ra.ConnectionChangeReason.BANNED_BY_SERVER,
    )
    again, _ = make_client(nodes[2].url)
    with pytest.raises(ra.RtmError) as caught:
        again.login(None, "bob").get(timeout=5)
    assert caught.value.code is ra.LoginErrCode.REJECTED
    nodes[1].unban("testapp", "bob")
    wait_until(lambda: ("testapp", "bob") not in nodes[2].context.bans, 5, "unban everywhere")
    back, _ = make_client(nodes[2].url)
    back.login(None, "bob").get(timeout=5)
    assert back.connection_state is ra.ConnectionState.CONNECTED


def test_node_stopped_gracefully_users_move_on(redis_url, make_client):
    """A node that stops cleanly sends its clients to the next node in their list and
    leaves nothing of itself in Redis."""
    with running_server(store=redis_url) as keep:
        with running_server(store=redis_url) as node:
            alice, _ = make_client(keep.url)
            alice.login(None, "alice").get(timeout=5)
            bob, _ = make_client([node.url, keep.url])
            bob.login(None, "bob").get(timeout=5)
            gone_id = node.context.cluster.node_id
        # (That node has stopped now.)
        admin = redis.Redis.from_url(redis_url)
        keep_id = keep.context.cluster.node_id
        wait_until(
            lambda: (admin.hget("rtm:route:testapp", "bob") or b"").startswith(keep_id.encode()),
            5,
            "bob logged in on the node that stays",
        )
        msg = alice.create_message("on the other node now")
        assert alice.send_message_to_peer("bob", msg).get(timeout=5) is PeerMessageErrCode.OK
        states = alice.query_peers_online_status(["bob"]).get(timeout=5)
        assert states == {"bob": PeerOnlineState.ONLINE}
        assert admin.smembers("rtm:nodes") == {keep_id.encode()}
        assert admin.get(f"rtm:node:{keep_id}") == keep.url.encode()
        assert not admin.exists(f"rtm:node:{gone_id}", f"rtm:node:{gone_id}:users")
        admin.close()


def test_invitation_to_a_callee_who_logs_in_on_another_node(nodes, login):
    """An invitation to an offline callee reaches it when it logs in on another node."""
    caller_rtm, _ = login("caller", 0)
    caller_rec = CallRecorder()
    caller = caller_rtm.get_rtm_call_manager(caller_rec)
    inv = caller.create_local_call_invitation("late")
    assert caller.send_local_invitation(inv) is ra.InvitationApiCallErrCode.OK
    wait_until(lambda: invitations_in_flight(nodes[0].context) > 0, 5, "the invitation held")
    late_rtm, _ = login("late", 2)
    late_rec = CallRecorder()
    late = late_rtm.get_rtm_call_manager(late_rec)
    ((remote,),) = late_rec.wait_for("on_remote_invitation_received")
    caller_rec.wait_for("on_local_invitation_received_by_peer")
    assert late.refuse_remote_invitation(remote) is ra.InvitationApiCallErrCode.OK
    caller_rec.wait_for("on_local_invitation_refused")
    assert inv.state is ra.LocalInvitationState.REFUSED_BY_REMOTE
