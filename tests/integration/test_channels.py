"""Channels on a real server: membership, messages, members, counts, reconnects."""

from __future__ import annotations

import pytest

import rtm_actors as ra
from rtm_actors import ChannelMessageErrCode, GetMembersErr, JoinChannelErr, LeaveChannelErr
from rtm_actors.testing import CuttableProxy, EventRecorder, running_server, wait_until

pytestmark = pytest.mark.integration


class ChannelRecorder(EventRecorder, ra.ChannelEventHandler):
    """Records every channel callback."""


def joined(rtm, channel_id="room"):
    rec = ChannelRecorder()
    channel = rtm.create_channel(channel_id, rec)
    channel.join().get(timeout=5)
    return channel, rec


def texts(rec):
    return [(user, msg.text) for user, msg in rec.calls("on_message_received")]


def members_seen(rec, event):
    return [m.user_id for (m,) in rec.calls(event)]


def test_join_leave_and_member_events(logged_in):
    """Others see a member join and leave; the joiner gets success and a member count."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    room_a, rec_a = joined(alice)
    rec_a.wait_for("on_join_success")
    assert rec_a.wait_for("on_member_count_updated") == [(1,)]
    room_b, rec_b = joined(bob)
    assert rec_b.wait_for("on_member_count_updated")[0] == (2,)
    rec_a.wait_for("on_member_joined")
    assert members_seen(rec_a, "on_member_joined") == ["bob"]
    room_b.leave().get(timeout=5)
    assert rec_b.wait_for("on_leave") == [(LeaveChannelErr.OK,)]
    rec_a.wait_for("on_member_left")
    assert members_seen(rec_a, "on_member_left") == ["bob"]
    assert room_a.get_id() == "room"


def test_releasing_a_joined_channel_leaves_it(logged_in):
    """Releasing a joined channel leaves it (on_leave, others see the member go); a
    new object for the same id starts out not joined, and joins again."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    _, rec_a = joined(alice)
    room_b, rec_b = joined(bob)
    rec_a.wait_for("on_member_joined")
    room_b.release()
    assert rec_b.wait_for("on_leave") == [(LeaveChannelErr.OK,)]
    rec_a.wait_for("on_member_left")
    assert members_seen(rec_a, "on_member_left") == ["bob"]
    again = bob.create_channel("room", ChannelRecorder())
    assert again is not room_b
    with pytest.raises(ra.RtmError) as caught:
        again.leave().get(timeout=5)
    assert caught.value.code is LeaveChannelErr.NOT_IN_CHANNEL
    assert again.join().get(timeout=5) is None


def test_messages_reach_every_member_but_the_sender(logged_in):
    """A channel message reaches all other members, in order; the sender gets only OK."""
    users = [logged_in(f"u{i}")[0] for i in range(4)]
    rooms = [joined(u) for u in users]
    sender, sender_rec = rooms[0]
    msgs = [users[0].create_message(f"m{i}") for i in range(20)]
    for msg in msgs:
        assert sender.send_message(msg).get(timeout=5) is None
    for _, rec in rooms[1:]:
        rec.wait_for("on_message_received", count=20)
        assert texts(rec) == [("u0", f"m{i}") for i in range(20)]
    results = sender_rec.wait_for("on_send_message_result", count=20)
    assert results == [(m.message_id, ChannelMessageErrCode.OK) for m in msgs]
    assert sender_rec.calls("on_message_received") == []


def test_get_members_and_member_count(logged_in):
    """get_members lists the members; get_channel_member_count needs no membership."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    carol, _ = logged_in("carol")
    room_a, rec = joined(alice)
    joined(bob)
    members = room_a.get_members().get(timeout=5)
    assert sorted(m.user_id for m in members) == ["alice", "bob"]
    assert {m.channel_id for m in members} == {"room"}
    ((got, code),) = rec.wait_for("on_get_members")
    assert code is GetMembersErr.OK
    assert sorted(m.user_id for m in got) == ["alice", "bob"]
    counts = carol.get_channel_member_count(["room", "empty"]).get(timeout=5)
    assert counts == {"room": 2, "empty": 0}


def test_member_count_updates_are_paced(logged_in):
    """After the count right after join, updates come at most once a second."""
    alice, _ = logged_in("alice")
    _, rec = joined(alice)
    others = [logged_in(f"b{i}")[0] for i in range(5)]
    for other in others:
        joined(other)
    rec.wait_for("on_member_count_updated", lambda n: n == 6, timeout=5)
    counts = [n for (n,) in rec.calls("on_member_count_updated")]
    assert counts[0] == 1
    assert len(counts) <= 3  # 5 joins within ~1 s produce at most two paced updates


def test_local_and_server_join_rules(logged_in):
    """Joining twice: ALREADY_JOINED; a 21st channel: EXCEED_LIMIT; a bad id: no channel."""
    alice, _ = logged_in("alice")
    room, _ = joined(alice)
    with pytest.raises(ra.RtmError) as caught:
        room.join().get(timeout=5)
    assert caught.value.code is JoinChannelErr.ALREADY_JOINED
    assert alice.create_channel("bad/id", ChannelRecorder()) is None
    assert alice.create_channel("room", ChannelRecorder()) is room
    channels = [alice.create_channel(f"c{i}", ChannelRecorder()) for i in range(20)]
    results = []
    for channel in channels:
        try:
            channel.join().get(timeout=5)
            results.append(JoinChannelErr.OK)
        except ra.RtmError as exc:
            results.append(exc.code)
    assert results == [JoinChannelErr.OK] * 19 + [JoinChannelErr.EXCEED_LIMIT]


def test_not_in_channel_errors(logged_in):
    """Listing and leaving before joining fail with NOT_IN_CHANNEL; sending with FAILURE
    (C++/Java's CHANNEL_MESSAGE_ERR_CODE has no NOT_IN_CHANNEL)."""
    alice, _ = logged_in("alice")
    room = alice.create_channel("room", ChannelRecorder())
    for call, code in (
        (
            lambda: room.send_message(alice.create_message("x")),
            ChannelMessageErrCode.FAILURE,
        ),
        (room.get_members, GetMembersErr.NOT_IN_CHANNEL),
        (room.leave, LeaveChannelErr.NOT_IN_CHANNEL),
    ):
        with pytest.raises(ra.RtmError) as caught:
            call().get(timeout=5)
        assert caught.value.code is code


def test_short_reconnect_replays_missed_messages_once(server, make_client, logged_in):
    """Messages sent while a member's link was down reach it after the reconnect, once."""
    alice, _ = logged_in("alice")
    room_a, _ = joined(alice)
    with CuttableProxy("127.0.0.1", server.port) as proxy:
        bob, _ = make_client(proxy.url(), backoff_min=0.5, backoff_max=0.5)
        bob.login(None, "bob").get(timeout=5)
        _, rec_b = joined(bob)
        room_a.send_message(alice.create_message("before")).get(timeout=5)
        rec_b.wait_for("on_message_received")
        proxy.cut()
        for i in range(3):
            room_a.send_message(alice.create_message(f"during{i}")).get(timeout=5)
        rec_b.wait_for("on_message_received", count=4, timeout=10)
        room_a.send_message(alice.create_message("after")).get(timeout=5)
        rec_b.wait_for("on_message_received", count=5)
        assert texts(rec_b) == [
            ("alice", t) for t in ["before", "during0", "during1", "during2", "after"]
        ]
        assert rec_b.calls("on_member_left") == []


def test_member_left_after_grace_and_automatic_rejoin(make_client):
    """A member away past the grace period is reported left; its SDK re-joins by itself."""
    with running_server(grace_period=0.3) as srv, CuttableProxy("127.0.0.1", srv.port) as proxy:
        alice, _ = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        _, rec_a = joined(alice)
        bob, _ = make_client(proxy.url(), backoff_min=1.0, backoff_max=1.0)
        bob.login(None, "bob").get(timeout=5)
        room_b, rec_b = joined(bob)
        rec_a.wait_for("on_member_joined")
        proxy.cut()
        rec_a.wait_for("on_member_left", timeout=5)
        rec_a.wait_for("on_member_joined", count=2, timeout=10)
        assert members_seen(rec_a, "on_member_joined") == ["bob", "bob"]
        members = room_b.get_members().get(timeout=5)
        assert sorted(m.user_id for m in members) == ["alice", "bob"]
        assert len(rec_b.calls("on_join_success")) == 1


def test_channel_attributes_with_and_without_notification(logged_in):
    """Writes need no membership; members hear of a write only when asked, with everything."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    _, rec_b = joined(bob)
    f = alice.set_channel_attributes("room", {"topic": "cats"})
    f.get(timeout=5)
    opts = ra.ChannelAttributeOptions(enable_notification_to_channel_members=True)
    alice.add_or_update_channel_attributes("room", {"mood": "calm"}, opts).get(timeout=5)
    ((attrs,),) = rec_b.wait_for("on_attributes_updated")
    assert {(a.key, a.value, a.last_update_user_id) for a in attrs} == {
        ("topic", "cats", "alice"),
        ("mood", "calm", "alice"),
    }
    assert all(a.last_update_ts > 0 for a in attrs)
    got = bob.get_channel_attributes_by_keys("room", ["mood"]).get(timeout=5)
    assert [(a.key, a.value) for a in got] == [("mood", "calm")]
    bob.delete_channel_attributes_by_keys("room", ["mood"]).get(timeout=5)
    assert [a.key for a in alice.get_channel_attributes("room").get(timeout=5)] == ["topic"]
    alice.clear_channel_attributes("room", opts).get(timeout=5)
    assert rec_b.wait_for("on_attributes_updated", count=2)[-1] == ([],)
    assert alice.get_channel_attributes("nowhere").get(timeout=5) == []
    assert len(rec_b.calls("on_attributes_updated")) == 2  # the first write was not notified


def test_channel_attribute_limits(logged_in):
    """32 KB in all for a channel; empty values are invalid."""
    alice, _ = logged_in("alice")
    big = {f"k{i}": "v" * 8000 for i in range(4)}
    alice.set_channel_attributes("room", big).get(timeout=5)
    with pytest.raises(ra.RtmError) as caught:
        alice.add_or_update_channel_attributes("room", {"k9": "v" * 1000}).get(timeout=5)
    assert caught.value.code is ra.AttributeOperationErr.SIZE_OVERFLOW
    with pytest.raises(ra.RtmError) as caught:
        alice.set_channel_attributes("room", {"k": ""}).get(timeout=5)
    assert caught.value.code is ra.AttributeOperationErr.INVALID_ARGUMENT


def test_slow_member_is_cut_off_and_the_rest_receive_everything(make_client):
    """A member that stops reading is cut off; the others get every message."""
    with running_server(write_timeout=0.5) as srv:
        sender, _ = make_client(srv.url)
        sender.login(None, "sender").get(timeout=5)
        room, _ = joined(sender)
        readers = []
        for i in range(3):
            rtm, _ = make_client(srv.url)
            rtm.login(None, f"r{i}").get(timeout=5)
            readers.append(joined(rtm)[1])
        slow = _StalledClient(srv.url)
        slow.join("room")
        wait_until(lambda: srv.context.channels.members() == 5, what="the stalled member in")
        payload = "x" * 30000
        for i in range(400):
            room.send_message(sender.create_message(f"{i}:{payload}"))
        for rec in readers:
            rec.wait_for("on_message_received", count=400, timeout=30)
            assert [m.text.split(":")[0] for _, m in rec.calls("on_message_received")] == [
                str(i) for i in range(400)
            ]
        wait_until(lambda: srv.context.stats.slow_consumers >= 1, timeout=10)
        slow.close()


class _StalledClient:
    """A raw websocket that joins a channel and then never reads."""

    def __init__(self, url: str) -> None:
        from rtm_actors.client.link import ClientLink
        from rtm_actors.protocol import codec
        from rtm_actors.protocol.frames import Login

        self._codec = codec
        self.link = ClientLink.open(url, timeout=5)
        self.link.send(codec.encode(Login(0, "testapp", "stalled")))

    def join(self, channel_id: str) -> None:
        from rtm_actors.protocol.frames import JoinChannel

        self.link.send(self._codec.encode(JoinChannel(1, channel_id)))

    def close(self) -> None:
        self.link.close()


def test_server_enforces_channel_call_rates(logged_in):
    """Joining one channel a third time in 5 s, or listing members a sixth time in 2 s,
    is refused with the TOO_OFTEN code of its family."""
    alice, _ = logged_in("alice")
    room, _ = joined(alice)
    codes = []
    for _ in range(6):
        try:
            room.get_members().get(timeout=5)
            codes.append(GetMembersErr.OK)
        except ra.RtmError as exc:
            codes.append(exc.code)
    assert codes == [GetMembersErr.OK] * 5 + [GetMembersErr.TOO_OFTEN]
    room.leave().get(timeout=5)
    room.join().get(timeout=5)
    room.leave().get(timeout=5)
    with pytest.raises(ra.RtmError) as caught:
        room.join().get(timeout=5)
    assert caught.value.code is JoinChannelErr.JOIN_SAME_CHANNEL_TOO_OFTEN
