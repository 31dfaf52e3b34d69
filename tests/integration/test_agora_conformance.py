"""What a ported Agora RTM 1.x app expects, through the public API on a real server."""

from __future__ import annotations

import pytest

import rtm_actors as ra
from rtm_actors import (
    ChannelMessageErrCode,
    ConnectionChangeReason as Reason,
    ConnectionState as State,
    InvitationApiCallErrCode as Api,
    LoginErrCode,
    MessageType,
    PeerMessageErrCode,
    SendMessageOptions,
)
from rtm_actors.testing import (
    CuttableProxy,
    EventRecorder,
    FakeClock,
    running_server,
    settle,
    wait_until,
)

pytestmark = pytest.mark.integration
OFFLINE = SendMessageOptions(enable_offline_messaging=True)
#: The callbacks whose relative order item 1 is about.
LOGIN_AND_PUSHES = {
    "on_connection_state_changed",
    "on_login_success",
    "on_message_received_from_peer",
}


class ChannelRecorder(EventRecorder, ra.ChannelEventHandler):
    """Records every channel callback."""


class CallRecorder(EventRecorder, ra.RtmCallEventHandler):
    """Records every call-manager callback."""


def login_and_pushes(rec, since=0):
    """The login-related callbacks and received peer messages from ``since`` on, in order."""
    out = []
    for name, args in rec.events[since:]:
        if name == "on_message_received_from_peer":
            out.append((name, args[1].text))
        elif name in LOGIN_AND_PUSHES:
            out.append((name, *args))
    return out


# -- 1. the login is reported before anything of the new session -------------------


def test_offline_messages_arrive_after_on_login_success(logged_in, make_client, server):
    """A user with stored messages sees CONNECTING, CONNECTED, on_login_success, then them."""
    alice, _ = logged_in("alice")
    for text in ("one", "two", "three"):
        message = alice.create_message(text)
        assert alice.send_message_to_peer("bob", message, OFFLINE).get(timeout=5) is (
            PeerMessageErrCode.CACHED_BY_SERVER
        )
    bob, rec = make_client(server.url)
    bob.login(None, "bob").get(timeout=5)
    rec.wait_for("on_message_received_from_peer", count=3)
    assert login_and_pushes(rec) == [
        ("on_connection_state_changed", State.CONNECTING, Reason.LOGIN),
        ("on_connection_state_changed", State.CONNECTED, Reason.LOGIN_SUCCESS),
        ("on_login_success",),
        ("on_message_received_from_peer", "one"),
        ("on_message_received_from_peer", "two"),
        ("on_message_received_from_peer", "three"),
    ]


def test_messages_held_for_a_resumed_session_arrive_after_the_state_change(make_client):
    """After a resume, the state change to CONNECTED comes before what the server held."""
    with (
        running_server(grace_period=10.0) as server,
        CuttableProxy("127.0.0.1", server.port) as proxy,
    ):
        alice, _ = make_client(server.url)
        bob, rec = make_client(proxy.url(), interrupt_after=0.2)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        proxy.refusing = True
        assert proxy.cut() == 1
        rec.wait_for("on_connection_state_changed", lambda s, r: s is State.RECONNECTING)
        since = len(rec.events)
        futures = [alice.send_message_to_peer("bob", alice.create_message(t)) for t in "abc"]
        proxy.refusing = False
        assert {f.get(timeout=10) for f in futures} == {PeerMessageErrCode.OK}
        rec.wait_for("on_message_received_from_peer", count=3)
        assert login_and_pushes(rec, since) == [
            ("on_connection_state_changed", State.CONNECTED, Reason.LOGIN_SUCCESS),
            ("on_message_received_from_peer", "a"),
            ("on_message_received_from_peer", "b"),
            ("on_message_received_from_peer", "c"),
        ]
        assert len(rec.calls("on_login_success")) == 1  # a resume is not a login


def test_an_invitation_waiting_for_the_login_arrives_after_on_login_success(
    logged_in, make_client, server
):
    """A sibling of the stored messages: an invitation the server held for the callee's
    login reaches the call handler after the service handler's on_login_success."""
    alice, _ = logged_in("alice")
    caller = alice.get_rtm_call_manager(CallRecorder())
    assert caller.send_local_invitation(caller.create_local_call_invitation("bob")) is Api.OK
    bob, rec = make_client(server.url)
    calls = CallRecorder()
    calls.events = rec.events  # one log for both handlers: their relative order shows
    bob.get_rtm_call_manager(calls)
    bob.login(None, "bob").get(timeout=5)
    rec.wait_for("on_remote_invitation_received")
    names = [name for name, _ in rec.events]
    assert names.index("on_login_success") < names.index("on_remote_invitation_received")


# -- 2. on_member_count_updated only when the number changes --------------------------


def counts(rec):
    return [n for (n,) in rec.calls("on_member_count_updated")]


def test_member_count_is_reported_once_per_change(logged_in, fake_clock):
    """Alone: on_join_success then one count of 1; a second member: 2, never 1 again."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    rec = ChannelRecorder()
    room = alice.create_channel("room", rec)
    room.join().get(timeout=5)
    past_a_count_push(fake_clock)
    rec.wait_for("on_member_count_updated")
    assert [name for name, _ in rec.events][:2] == ["on_join_success", "on_member_count_updated"]
    assert counts(rec) == [1]
    bob.create_channel("room", ChannelRecorder()).join().get(timeout=5)
    past_a_count_push(fake_clock)
    rec.wait_for("on_member_count_updated", lambda n: n == 2)
    past_a_count_push(fake_clock)
    assert counts(rec) == [1, 2]


def test_a_rejoiner_always_hears_the_count(logged_in, fake_clock):
    """Leaving and joining back to the same number: the joiner still gets one count."""
    alice, _ = logged_in("alice")
    rec = ChannelRecorder()
    room = alice.create_channel("room", rec)
    room.join().get(timeout=5)
    past_a_count_push(fake_clock)
    rec.wait_for("on_member_count_updated")
    room.leave().get(timeout=5)
    room.join().get(timeout=5)
    past_a_count_push(fake_clock)
    rec.wait_for("on_member_count_updated", count=2)
    past_a_count_push(fake_clock)
    assert counts(rec) == [1, 1]  # one per join, none repeated by the server's push


def past_a_count_push(clock: FakeClock) -> None:
    """Past the server's paced count push (at most 1 per second), on fake time, and
    everything it set going in this process done: what is asserted next may be that
    nothing more arrived."""
    clock.advance(1.5)
    settle()


# -- 3. one call manager per service ----------------------------------------------------


def test_get_rtm_call_manager_gives_one_manager_and_the_last_handler_wins(logged_in):
    """Twice: the same object; the second handler gets the remote invitations."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    first, second = CallRecorder(), CallRecorder()
    manager = bob.get_rtm_call_manager(first)
    assert bob.get_rtm_call_manager(second) is manager
    caller = alice.get_rtm_call_manager(CallRecorder())
    invitation = caller.create_local_call_invitation("bob")
    assert caller.send_local_invitation(invitation) is Api.OK
    ((remote,),) = second.wait_for("on_remote_invitation_received")
    assert manager.accept_remote_invitation(remote) is Api.OK
    second.wait_for("on_remote_invitation_accepted")
    assert first.events == []


def test_a_handler_set_while_an_invitation_is_in_flight_gets_what_follows(logged_in):
    """Each party's new handler (by get_rtm_call_manager, or by setting ``handler``) gets
    the rest of an invitation already under way; the old one hears nothing more."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    caller_first, caller_second = CallRecorder(), CallRecorder()
    callee_first, callee_second = CallRecorder(), CallRecorder()
    caller = alice.get_rtm_call_manager(caller_first)
    callee = bob.get_rtm_call_manager(callee_first)
    invitation = caller.create_local_call_invitation("bob")
    assert caller.send_local_invitation(invitation) is Api.OK
    ((remote,),) = callee_first.wait_for("on_remote_invitation_received")
    caller_first.wait_for("on_local_invitation_received_by_peer")
    caller.handler = caller_second
    assert caller.handler is caller_second
    assert bob.get_rtm_call_manager(callee_second) is callee
    assert callee.accept_remote_invitation(remote) is Api.OK
    callee_second.wait_for("on_remote_invitation_accepted")
    caller_second.wait_for("on_local_invitation_accepted")
    assert [name for name, _ in caller_first.events] == ["on_local_invitation_received_by_peer"]
    assert [name for name, _ in callee_first.events] == ["on_remote_invitation_received"]


# -- 4. ids are less than 64 bytes --------------------------------------------------------


def test_ids_of_64_bytes_are_refused(logged_in, make_client, server):
    """Agora: channel and user ids are "less than 64 bytes": 63 is fine, 64 is not."""
    alice, _ = logged_in("alice")
    assert alice.create_channel("d" * 64, ChannelRecorder()) is None
    assert alice.create_channel("d" * 63, ChannelRecorder()) is not None
    with pytest.raises(ra.RtmError) as caught:
        alice.send_message_to_peer("p" * 64, alice.create_message("x")).get(timeout=5)
    assert caught.value.code is PeerMessageErrCode.INVALID_USERID
    rtm, _ = make_client(server.url)
    with pytest.raises(ra.RtmError) as caught:
        rtm.login(None, "u" * 64).get(timeout=5)
    assert caught.value.code is LoginErrCode.INVALID_ARGUMENT
    rtm.login(None, "u" * 63).get(timeout=5)


# -- 5. Message is an IMessage --------------------------------------------------------------


def test_message_has_the_imessage_surface(logged_in):
    """set_text before sending; getters, is_offline_message() and release() on both sides."""
    alice, _ = logged_in("alice")
    _, bob_rec = logged_in("bob")
    message = alice.create_message()
    message.set_text("set later")
    assert message.get_raw_message_length() == 0
    assert message.get_server_received_ts() == 0
    assert alice.send_message_to_peer("bob", message).get(timeout=5) is PeerMessageErrCode.OK
    ((_, got),) = bob_rec.wait_for("on_message_received_from_peer")
    assert got.get_text() == got.text == "set later"
    assert got.get_message_id() == message.message_id
    assert got.get_message_type() is MessageType.TEXT
    assert got.get_server_received_ts() == got.server_received_ts > 0
    assert got.is_offline_message() is False
    assert not got.is_offline_message
    got.release()
    raw = alice.create_message("description", raw=b"\x00\x01\x02")
    assert (raw.get_raw_message_length(), raw.get_raw_message_data()) == (3, b"\x00\x01\x02")


def test_offline_flag_is_a_getter_and_a_bool(logged_in, make_client, server):
    """A stored message: is_offline_message() is True and the attribute is truthy."""
    alice, _ = logged_in("alice")
    alice.send_message_to_peer("bob", alice.create_message("kept"), OFFLINE).get(timeout=5)
    bob, rec = make_client(server.url)
    bob.login(None, "bob").get(timeout=5)
    ((_, got),) = rec.wait_for("on_message_received_from_peer")
    assert got.is_offline_message() is True
    assert got.is_offline_message == True  # noqa: E712 (the flag compares as a bool)


# -- 7. a C++/Java app sees only its own enum's codes --------------------------------------------


def test_channel_send_when_not_joined_answers_failure(logged_in):
    """Not NOT_IN_CHANNEL (5, Web SDK only): FAILURE (1), in the future and the callback."""
    alice, _ = logged_in("alice")
    rec = ChannelRecorder()
    room = alice.create_channel("room", rec)
    message = alice.create_message("x")
    with pytest.raises(ra.RtmError) as caught:
        room.send_message(message).get(timeout=5)
    assert caught.value.code is ChannelMessageErrCode.FAILURE
    assert rec.wait_for("on_send_message_result") == [
        (message.message_id, ChannelMessageErrCode.FAILURE)
    ]


def test_invitation_objects_have_agoras_getters(logged_in):
    """Local and remote invitations answer Agora's getters and setters."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    callee_rec = CallRecorder()
    bob.get_rtm_call_manager(callee_rec)
    caller = alice.get_rtm_call_manager(CallRecorder())
    invitation = caller.create_local_call_invitation("bob")
    invitation.set_content("hello")
    invitation.set_channel_id("room1")
    assert (invitation.get_callee_id(), invitation.get_content()) == ("bob", "hello")
    assert caller.send_local_invitation(invitation) is Api.OK
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    assert (remote.get_caller_id(), remote.get_content(), remote.get_channel_id()) == (
        "alice",
        "hello",
        "room1",
    )
    remote.set_response("sure")
    assert remote.get_response() == "sure"
    assert remote.get_state() is remote.state
    wait_until(lambda: invitation.get_state() is invitation.state)
