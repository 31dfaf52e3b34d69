"""Call invitations on a real server: every lifecycle path, both sides agreeing."""

from __future__ import annotations

import pytest

import rtm_actors as ra
from rtm_actors import (
    InvitationApiCallErrCode as Api,
    LocalInvitationErrCode as LocalErr,
    LocalInvitationState as L,
    RemoteInvitationErrCode as RemoteErr,
    RemoteInvitationState as R,
)
from rtm_actors.protocol.invitation import InvitationTimings
from rtm_actors.server.invitation_actor import invitations_in_flight
from rtm_actors.testing import CuttableProxy, EventRecorder, running_server, wait_until

pytestmark = pytest.mark.integration


class CallRecorder(EventRecorder, ra.RtmCallEventHandler):
    """Records every call-manager callback."""


def party(logged_in, user_id, **config):
    rtm, _ = logged_in(user_id, **config)
    rec = CallRecorder()
    return rtm, rtm.get_rtm_call_manager(rec), rec


def names(rec):
    return [name for name, _ in rec.events]


def invite(manager, callee_id, content="let's talk", channel_id="room1"):
    inv = manager.create_local_call_invitation(callee_id)
    inv.content = content
    inv.channel_id = channel_id
    assert manager.send_local_invitation(inv) is Api.OK
    return inv


def test_accept(logged_in):
    """Caller: received by peer, accepted with the response; callee: received, accepted."""
    _, caller, caller_rec = party(logged_in, "alice")
    _, callee, callee_rec = party(logged_in, "bob")
    inv = invite(caller, "bob")
    assert caller.send_local_invitation(inv) is Api.ALREADY_SENT
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    assert (remote.caller_id, remote.content, remote.channel_id) == ("alice", "let's talk", "room1")
    assert remote.state is R.INVITATION_RECEIVED
    caller_rec.wait_for("on_local_invitation_received_by_peer")
    assert inv.state is L.RECEIVED_BY_REMOTE
    remote.response = "on my way"
    assert callee.accept_remote_invitation(remote) is Api.OK
    assert callee.accept_remote_invitation(remote) is Api.ALREADY_ACCEPT
    assert caller_rec.wait_for("on_local_invitation_accepted") == [(inv, "on my way")]
    callee_rec.wait_for("on_remote_invitation_accepted")
    assert inv.state is L.ACCEPTED_BY_REMOTE
    assert remote.state is R.ACCEPTED
    assert caller.cancel_local_invitation(inv) is Api.ALREADY_END
    assert names(caller_rec) == [
        "on_local_invitation_received_by_peer",
        "on_local_invitation_accepted",
    ]
    assert names(callee_rec) == ["on_remote_invitation_received", "on_remote_invitation_accepted"]


def test_an_accepted_invitation_wakes_neither_sessions_greenlet(server, logged_in):
    """Each party's session takes the whole handshake in the greenlets of the frames that
    move it: the desk's reply to the answer and the invitation's end, told back to the
    session whose turn set them off, are handled in that turn, not by waking its own
    greenlet (which a session starts only when a message has to wait for it)."""
    _, caller, caller_rec = party(logged_in, "alice")
    _, callee, callee_rec = party(logged_in, "bob")
    sessions = [server.context.directory.route(("testapp", u)) for u in ("alice", "bob")]
    inboxes = [ref._actor_weakref().actor_inbox for ref in sessions]
    assert all(inbox.start_reader is not None for inbox in inboxes)
    inv = invite(caller, "bob")
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    assert callee.accept_remote_invitation(remote) is Api.OK
    caller_rec.wait_for("on_local_invitation_accepted")
    callee_rec.wait_for("on_remote_invitation_accepted")
    wait_until(lambda: invitations_in_flight(server.context) == 0)
    assert (inv.state, remote.state) == (L.ACCEPTED_BY_REMOTE, R.ACCEPTED)
    assert [inbox.start_reader is not None for inbox in inboxes] == [True, True]


def test_refuse(logged_in):
    """A refusal reaches the caller with the response; both end REFUSED."""
    _, caller, caller_rec = party(logged_in, "alice")
    _, callee, callee_rec = party(logged_in, "bob")
    inv = invite(caller, "bob")
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    remote.response = "busy"
    assert callee.refuse_remote_invitation(remote) is Api.OK
    assert caller_rec.wait_for("on_local_invitation_refused") == [(inv, "busy")]
    callee_rec.wait_for("on_remote_invitation_refused")
    assert (inv.state, remote.state) == (L.REFUSED_BY_REMOTE, R.REFUSED)
    assert callee.accept_remote_invitation(remote) is Api.ALREADY_END


def test_cancel_after_receipt(logged_in):
    """The callee is told first, then the caller; both CANCELED."""
    _, caller, caller_rec = party(logged_in, "alice")
    _, _, callee_rec = party(logged_in, "bob")
    inv = invite(caller, "bob")
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    caller_rec.wait_for("on_local_invitation_received_by_peer")
    assert caller.cancel_local_invitation(inv) is Api.OK
    caller_rec.wait_for("on_local_invitation_canceled")
    callee_rec.wait_for("on_remote_invitation_canceled")
    assert (inv.state, remote.state) == (L.CANCELED, R.CANCELED)


def test_cancel_before_send_and_before_receipt(logged_in):
    """Cancel before send is NOT_STARTED; cancel while the callee is offline ends it quietly."""
    _, caller, caller_rec = party(logged_in, "alice")
    inv = caller.create_local_call_invitation("nobody_yet")
    assert caller.cancel_local_invitation(inv) is Api.NOT_STARTED
    assert caller.send_local_invitation(inv) is Api.OK
    assert caller.cancel_local_invitation(inv) is Api.OK
    caller_rec.wait_for("on_local_invitation_canceled")
    assert inv.state is L.CANCELED
    assert caller.send_local_invitation(inv) is Api.ALREADY_END


def test_callee_offline_then_online_within_the_retry_window(server, logged_in):
    """An invitation to an offline user reaches it if it logs in within the retry time."""
    _, caller, caller_rec = party(logged_in, "alice")
    inv = invite(caller, "bob")
    bob, _ = logged_in("bob")
    callee_rec = CallRecorder()
    bob.get_rtm_call_manager(callee_rec)
    # The manager was made after login; the invitation arrives when it is delivered.
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received", timeout=10)
    caller_rec.wait_for("on_local_invitation_received_by_peer")
    assert remote.caller_id == "alice"
    assert inv.state is L.RECEIVED_BY_REMOTE


def test_callee_never_online_fails_with_peer_offline(make_client):
    """Past the retry time with the callee offline: PEER_OFFLINE for the caller."""
    timings = InvitationTimings(offline_retry=0.5, no_ack=0.5, expire=5.0)
    with running_server(invitation_timings=timings) as srv:
        rtm, _ = make_client(srv.url)
        rtm.login(None, "alice").get(timeout=5)
        rec = CallRecorder()
        inv = invite(rtm.get_rtm_call_manager(rec), "nobody")
        assert rec.wait_for("on_local_invitation_failure") == [(inv, LocalErr.PEER_OFFLINE)]
        assert inv.state is L.FAILURE


def test_no_answer_until_expiry(make_client):
    """Received but neither accepted nor refused: both fail with INVITATION_EXPIRE."""
    timings = InvitationTimings(expire=0.8)
    with running_server(invitation_timings=timings) as srv:
        alice, _ = make_client(srv.url)
        bob, _ = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        caller_rec, callee_rec = CallRecorder(), CallRecorder()
        inv = invite(alice.get_rtm_call_manager(caller_rec), "bob")
        bob.get_rtm_call_manager(callee_rec)
        ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
        assert caller_rec.wait_for("on_local_invitation_failure") == [
            (inv, LocalErr.INVITATION_EXPIRE)
        ]
        assert callee_rec.wait_for("on_remote_invitation_failure") == [
            (remote, RemoteErr.INVITATION_EXPIRE)
        ]


def test_caller_logs_out_mid_invitation(logged_in):
    """The callee's invitation fails with PEER_OFFLINE; the caller's fails locally."""
    alice, caller, caller_rec = party(logged_in, "alice")
    _, _, callee_rec = party(logged_in, "bob")
    inv = invite(caller, "bob")
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    alice.logout().get(timeout=5)
    assert callee_rec.wait_for("on_remote_invitation_failure") == [(remote, RemoteErr.PEER_OFFLINE)]
    assert caller_rec.wait_for("on_local_invitation_failure") == [(inv, LocalErr.NOT_LOGGEDIN)]


def test_callee_logs_out_mid_invitation(logged_in):
    """The caller's invitation fails with PEER_OFFLINE; the callee's fails locally."""
    _, caller, caller_rec = party(logged_in, "alice")
    bob, _, callee_rec = party(logged_in, "bob")
    inv = invite(caller, "bob")
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    bob.logout().get(timeout=5)
    assert caller_rec.wait_for("on_local_invitation_failure") == [(inv, LocalErr.PEER_OFFLINE)]
    assert callee_rec.wait_for("on_remote_invitation_failure") == [(remote, RemoteErr.PEER_OFFLINE)]


def test_cancel_racing_accept_ends_the_same_on_both_sides(logged_in):
    """Cancel and accept sent at once: whichever the server saw first, both sides agree."""
    _, caller, _ = party(logged_in, "alice")
    _, callee, callee_rec = party(logged_in, "bob")
    outcomes = []
    for _ in range(10):
        inv = invite(caller, "bob")
        ((remote,),) = callee_rec.wait_for(
            "on_remote_invitation_received", lambda r, i=inv: r.invitation_id == i.invitation_id
        )
        caller.cancel_local_invitation(inv)
        callee.accept_remote_invitation(remote)
        wait_until(lambda i=inv, r=remote: i.state in FINAL_LOCAL and r.state in FINAL_REMOTE)
        outcomes.append((inv.state, remote.state))
    for local, remote_state in outcomes:
        assert AGREE[local] is remote_state


def test_send_while_not_logged_in_fails_at_once(server, make_client):
    """A send before login fails the invitation with NOT_LOGGEDIN."""
    rtm, _ = make_client(server.url)
    rec = CallRecorder()
    manager = rtm.get_rtm_call_manager(rec)
    inv = manager.create_local_call_invitation("bob")
    assert manager.send_local_invitation(inv) is Api.OK
    assert rec.wait_for("on_local_invitation_failure") == [(inv, LocalErr.NOT_LOGGEDIN)]


def test_oversize_content_is_invalid_argument(logged_in):
    """Content or response over 8 KB is refused with INVALID_ARGUMENT."""
    _, caller, _ = party(logged_in, "alice")
    inv = caller.create_local_call_invitation("bob")
    inv.content = "x" * (8 * 1024 + 1)
    assert caller.send_local_invitation(inv) is Api.INVALID_ARGUMENT
    inv.content = "x" * (8 * 1024)
    inv.channel_id = "bad/channel"
    assert caller.send_local_invitation(inv) is Api.INVALID_ARGUMENT


def test_invitation_survives_a_short_reconnect_of_the_callee(server, make_client, logged_in):
    """The callee's link drops mid-invitation; after it resumes the accept goes through."""
    _, caller, caller_rec = party(logged_in, "alice")
    with CuttableProxy("127.0.0.1", server.port) as proxy:
        bob, _ = make_client(proxy.url(), backoff_min=0.3, backoff_max=0.3)
        bob.login(None, "bob").get(timeout=5)
        callee_rec = CallRecorder()
        callee = bob.get_rtm_call_manager(callee_rec)
        inv = invite(caller, "bob")
        ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
        proxy.cut()
        assert callee.accept_remote_invitation(remote) is Api.OK  # sent once the link is back
        caller_rec.wait_for("on_local_invitation_accepted", timeout=10)
        callee_rec.wait_for("on_remote_invitation_accepted", timeout=10)
        assert (inv.state, remote.state) == (L.ACCEPTED_BY_REMOTE, R.ACCEPTED)


FINAL_LOCAL = {L.ACCEPTED_BY_REMOTE, L.REFUSED_BY_REMOTE, L.CANCELED, L.FAILURE}
FINAL_REMOTE = {R.ACCEPTED, R.REFUSED, R.CANCELED, R.FAILURE}
AGREE = {
    L.ACCEPTED_BY_REMOTE: R.ACCEPTED,
    L.REFUSED_BY_REMOTE: R.REFUSED,
    L.CANCELED: R.CANCELED,
    L.FAILURE: R.FAILURE,
}


def test_an_invitation_over_the_callers_limit_fails_instead_of_hanging(make_client):
    """The server refuses a second live invitation (max_live_invitations=1): the caller's
    SDK ends it with on_local_invitation_failure(INVITATION_EXPIRE), not SENT_TO_REMOTE
    for ever; the first one lives on."""
    with running_server(max_live_invitations=1) as srv:
        rtm, _ = make_client(srv.url)
        rtm.login(None, "alice").get(timeout=5)
        rec = CallRecorder()
        manager = rtm.get_rtm_call_manager(rec)
        first = invite(manager, "bob")
        second = invite(manager, "carol")
        ((failed, code),) = rec.wait_for("on_local_invitation_failure")
        assert failed is second
        assert code is LocalErr.INVITATION_EXPIRE
        assert second.state is L.FAILURE
        assert first.state is L.SENT_TO_REMOTE


def test_an_ended_invitation_frees_its_place_under_the_callers_limit(make_client):
    """The caller's session counts its own live invitations: once the first is canceled,
    a new one is taken (max_live_invitations=1) and reaches the callee."""
    with running_server(max_live_invitations=1) as srv:
        caller_rtm, _ = make_client(srv.url)
        caller_rtm.login(None, "alice").get(timeout=5)
        callee_rtm, _ = make_client(srv.url)
        callee_rtm.login(None, "bob").get(timeout=5)
        rec, callee_rec = CallRecorder(), CallRecorder()
        manager = caller_rtm.get_rtm_call_manager(rec)
        callee_rtm.get_rtm_call_manager(callee_rec)
        first = invite(manager, "bob")
        callee_rec.wait_for("on_remote_invitation_received")
        second = invite(manager, "bob")
        ((failed, _),) = rec.wait_for("on_local_invitation_failure")
        assert failed is second
        assert manager.cancel_local_invitation(first) is Api.OK
        rec.wait_for("on_local_invitation_canceled")
        third = invite(manager, "bob")
        callee_rec.wait_for("on_remote_invitation_received", count=2)
        assert third.state in (L.SENT_TO_REMOTE, L.RECEIVED_BY_REMOTE)
        assert len(rec.calls("on_local_invitation_failure")) == 1
