"""The server's ChannelActor with recording sessions in place of real ones (no sockets)."""

from __future__ import annotations

from rtm_actors.protocol.frames import MemberJoined, MembersReply, WireMessage
from rtm_actors.runtime import GeventActor
from rtm_actors.server import channel_messages as chm
from rtm_actors.server.channels import Channels
from rtm_actors.testing import fast_server_config, settle, wait_until


class FakeSession(GeventActor):
    """Records what a channel tells a member's session."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[object] = []

    def on_receive(self, message):
        if message == "dump":
            return list(self.got)
        self.got.append(message)
        return None


def frames(session, kind):
    return [
        m.frame for m in session.ask("dump") if hasattr(m, "frame") and isinstance(m.frame, kind)
    ]


def test_member_events_stop_above_512_and_get_members_returns_512():
    """With 600 members nobody hears of the last joins, and get_members returns 512 users."""
    channels = Channels(fast_server_config())
    channel = channels.get_or_start("app", "big")
    first = FakeSession.start()
    channel.tell(chm.Join(first, "u0", 1))
    sessions = [FakeSession.start() for _ in range(599)]
    for i, s in enumerate(sessions, 1):
        channel.tell(chm.Join(s, f"u{i}", 1))
    channel.tell(chm.ListMembers(first, "u0", 7))
    wait_until(lambda: frames(first, MembersReply), timeout=10)
    (reply,) = frames(first, MembersReply)
    assert len(reply.user_ids) == 512
    joined_events = [m.frame for m in first.ask("dump") if isinstance(m, chm.SendEvent)]
    assert len(joined_events) == 511  # u1..u511 while the channel had at most 512 members
    assert all(isinstance(e, MemberJoined) for e in joined_events)
    assert channels.count("app", "big") == 600


def test_a_channel_message_is_encoded_once_for_every_member():
    """Every other member is told the very same bytes object; the sender is not."""
    channels = Channels(fast_server_config())
    channel = channels.get_or_start("app", "room")
    members = [FakeSession.start() for _ in range(5)]
    for i, s in enumerate(members):
        channel.tell(chm.Join(s, f"u{i}", 1))
    channel.tell(chm.Publish(members[0], "u0", 9, WireMessage(1, 1, "hi"), 123))
    wait_until(
        lambda: all(any(isinstance(m, chm.SendBytes) for m in s.ask("dump")) for s in members[1:])
    )
    datas = [
        next(m.data for m in s.ask("dump") if isinstance(m, chm.SendBytes)) for s in members[1:]
    ]
    assert all(d is datas[0] for d in datas)
    assert not any(isinstance(m, chm.SendBytes) for m in members[0].ask("dump"))


def test_an_empty_channel_stops_and_is_forgotten():
    """After the last member leaves, the channel actor stops within its idle time."""
    channels = Channels(fast_server_config(empty_channel_ttl=0.2, channel_tick=0.05))
    channel = channels.get_or_start("app", "brief")
    member = FakeSession.start()
    channel.tell(chm.Join(member, "u0", 1))
    channel.tell(chm.Leave(member, "u0", 2))
    wait_until(lambda: not channel.is_alive(), timeout=5)
    assert channels.get("app", "brief") is None
    assert len(channels) == 0
    settle()  # (the stopped channel's greenlet ends before the next test)


def test_a_channel_forgets_published_ids_when_its_last_member_leaves():
    """Once everyone left, a message id seen before is a new message (a soak test found it)."""
    channels = Channels(fast_server_config())
    channel = channels.get_or_start("app", "again")
    sender, receiver = FakeSession.start(), FakeSession.start()

    def delivered() -> int:
        return sum(isinstance(m, chm.SendBytes) for m in receiver.ask("dump"))

    def everyone_joins(rid: int) -> None:
        channel.tell(chm.Join(sender, "u0", rid))
        channel.tell(chm.Join(receiver, "u1", rid))

    everyone_joins(1)
    channel.tell(chm.Publish(sender, "u0", 2, WireMessage(1, 1, "hi"), 123))
    channel.tell(chm.Publish(sender, "u0", 3, WireMessage(1, 1, "hi"), 123))  # a re-send
    wait_until(lambda: delivered() == 1)
    channel.tell(chm.Leave(sender, "u0", 4))
    channel.tell(chm.Leave(receiver, "u1", 4))
    everyone_joins(5)
    channel.tell(chm.Publish(sender, "u0", 6, WireMessage(1, 1, "hi"), 123))
    wait_until(lambda: delivered() == 2)
