"""What docs/protocol.md now says where it used to contradict itself, checked on the wire."""

from __future__ import annotations

import pytest

import rtm_actors as ra
from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import InvitationApiCallErrCode as Api
from rtm_actors.protocol.frames import (
    Ack,
    InvitationEvent,
    JoinChannel,
    JoinReply,
    LeaveChannel,
    MemberCount,
    Ping,
    Pong,
    Reply,
    SendChannelMessage,
    SendInvitation,
    WireMessage,
)
from rtm_actors.protocol.limits import MAX_FRAME_BYTES
from rtm_actors.testing import EventRecorder, FakeClock, settle, wait_until
from tests.integration.test_bad_input import RawClient

pytestmark = pytest.mark.integration


class Recorder(EventRecorder, ra.ChannelEventHandler, ra.RtmCallEventHandler):
    """Records channel and call callbacks."""


def reply(raw: RawClient, rid: int) -> Reply:
    wait_until(lambda: any(isinstance(f, Reply) and f.rid == rid for f in raw.frames))
    return next(f for f in raw.frames if isinstance(f, Reply) and f.rid == rid)


def test_a_frame_at_the_documented_limit_is_accepted(server):
    """Section 2 / 8.2: a client message of exactly 256 KiB is read (a pong comes back)."""
    raw = RawClient(server.url)
    raw.login()
    ping = codec.encode(Ping(7.0))
    raw.send_text((ping[:-1] + b" " * (MAX_FRAME_BYTES - len(ping)) + b"}").decode())
    assert raw.wait_frame(Pong) == Pong(7.0)
    assert not raw.closed


def test_a_resent_channel_message_is_answered_twice_and_published_once(server, logged_in):
    """send_channel section: the re-send gets 0 with its own ts; members see it once."""
    bob, _ = logged_in("bob")
    rec = Recorder()
    bob.create_channel("room", rec).join().get(timeout=5)
    raw = RawClient(server.url)
    raw.login("alice")
    raw.link.send(codec.encode(JoinChannel(1, "room")))
    raw.wait_frame(JoinReply)
    message = WireMessage(424242, 1, "once", None)
    raw.link.send(codec.encode(SendChannelMessage(2, "room", message)))
    first = reply(raw, 2)
    raw.link.send(codec.encode(SendChannelMessage(3, "room", message)))
    second = reply(raw, 3)
    assert (first.code, second.code) == (0, 0)
    assert second.ts >= first.ts
    rec.wait_for("on_message_received")
    settle()  # (a second delivery, in this process, would be in by now)
    assert [m.text for _, m in rec.calls("on_message_received")] == ["once"]


def test_a_resent_invite_after_its_end_is_answered_0_and_starts_nothing(server, logged_in):
    """invite section (decision): a retry gets the first answer; no second invitation."""
    bob, _ = logged_in("bob")
    rec = Recorder()
    manager = bob.get_rtm_call_manager(rec)
    raw = RawClient(server.url)
    raw.login("alice")
    invite = SendInvitation(1, 777, "bob", "hi")
    raw.link.send(codec.encode(invite))
    assert reply(raw, 1).code == Api.OK
    ((remote,),) = rec.wait_for("on_remote_invitation_received")
    assert manager.refuse_remote_invitation(remote) is Api.OK
    wait_until(
        lambda: any(isinstance(f, InvitationEvent) and f.event == "refused" for f in raw.frames)
    )
    for frame in raw.frames:
        if isinstance(frame, InvitationEvent):
            raw.link.send(codec.encode(Ack(frame.seq)))
    raw.link.send(codec.encode(SendInvitation(2, 777, "bob", "hi")))
    assert reply(raw, 2).code == Api.OK
    settle()  # (a second invitation, in this process, would be in by now)
    assert len(rec.calls("on_remote_invitation_received")) == 1


def test_a_rejoin_to_the_count_already_pushed_pushes_no_count(server):
    """member_count section: pushed on change since the channel's last push; join_reply has it."""
    with FakeClock(start=1000.0) as clock:  # (the channel's ticks and pacing, by hand)
        raw = RawClient(server.url)
        raw.login("alice")
        raw.link.send(codec.encode(JoinChannel(1, "solo")))
        wait_until(lambda: any(isinstance(f, JoinReply) for f in raw.frames))
        clock.advance(1.0)
        wait_until(lambda: any(isinstance(f, MemberCount) for f in raw.frames), timeout=5)
        raw.link.send(codec.encode(LeaveChannel(2, "solo")))
        assert reply(raw, 2).code == 0
        raw.link.send(codec.encode(JoinChannel(3, "solo")))
        wait_until(lambda: any(isinstance(f, JoinReply) and f.rid == 3 for f in raw.frames))
        rejoined = next(f for f in raw.frames if isinstance(f, JoinReply) and f.rid == 3)
        assert (rejoined.code, rejoined.member_count) == (0, 1)
        clock.advance(1.5)  # past the pacing interval (1 s): a push would have come
        settle()
        assert [f.count for f in raw.frames if isinstance(f, MemberCount)] == [1]
