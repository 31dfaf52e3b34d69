"""What the soak check found growing: a node keeps nothing per call once it has ended."""

from __future__ import annotations

import gc

import pytest

import rtm_actors as ra
from rtm_actors import InvitationApiCallErrCode as Api
from rtm_actors.client.link import ClientLink
from rtm_actors.protocol import codec
from rtm_actors.protocol.frames import Ack, InvitationEvent, Login, LoginOk, Reply, SendInvitation
from rtm_actors.runtime.supervisor import Census
from rtm_actors.server.link import Link
from rtm_actors.testing import EventRecorder, settle, wait_until

pytestmark = pytest.mark.integration


class CallRecorder(EventRecorder, ra.RtmCallEventHandler):
    """Records every call-manager callback."""


class RawClient:
    """A websocket speaking frames directly, so a test can re-send a request."""

    def __init__(self, url: str) -> None:
        self.frames: list[object] = []
        self.link = ClientLink.open(url, timeout=5)
        self.link.start(on_frame=lambda _l, f: self.frames.append(f), on_closed=lambda _l: None)

    def login(self, user_id: str) -> None:
        self.link.send(codec.encode(Login(1, "testapp", user_id)))
        self.wait_for(lambda f: isinstance(f, LoginOk))

    def wait_for(self, wanted):
        wait_until(lambda: any(wanted(f) for f in self.frames))
        return next(f for f in self.frames if wanted(f))


def test_ended_invitations_leave_no_child_the_supervisor_cannot_match(server, logged_in):
    """Accepted and refused invitations, once ended, leave the supervisor as it was."""
    caller_rtm, _ = logged_in("alice")
    callee_rtm, _ = logged_in("bob")
    caller_rec, callee_rec = CallRecorder(), CallRecorder()
    caller = caller_rtm.get_rtm_call_manager(caller_rec)
    callee = callee_rtm.get_rtm_call_manager(callee_rec)
    supervisor = server.context.supervisor
    before = supervisor.ask(Census(), timeout=5)
    for n in range(6):
        assert caller.send_local_invitation(caller.create_local_call_invitation("bob")) is Api.OK
        (remote,) = callee_rec.wait_for("on_remote_invitation_received", count=n + 1)[n]
        answer = callee.accept_remote_invitation if n % 2 else callee.refuse_remote_invitation
        assert answer(remote) is Api.OK
    wait_until(lambda: not server.context.invitations, timeout=10)
    wait_until(lambda: supervisor.ask(Census(), timeout=5) == before, timeout=5)
    assert supervisor.ask(Census(), timeout=5).early_exits == 0


def test_an_invitation_re_sent_after_it_ended_is_not_started_again(server, logged_in):
    """The caller's session, not the node, remembers ended invitation ids: a re-send is OK."""
    raw = RawClient(server.url)
    raw.login("alice")
    callee_rtm, _ = logged_in("bob")
    callee_rec = CallRecorder()
    callee = callee_rtm.get_rtm_call_manager(callee_rec)
    raw.link.send(codec.encode(SendInvitation(2, 7, "bob")))
    ((remote,),) = callee_rec.wait_for("on_remote_invitation_received")
    assert callee.refuse_remote_invitation(remote) is Api.OK
    refused = raw.wait_for(lambda f: isinstance(f, InvitationEvent) and f.event == "refused")
    raw.link.send(codec.encode(Ack(refused.seq)))
    wait_until(lambda: not server.context.invitations)
    raw.link.send(codec.encode(SendInvitation(3, 7, "bob")))  # its reply got lost, say
    assert raw.wait_for(lambda f: isinstance(f, Reply) and f.rid == 3).code == Api.OK
    settle()  # (a second invitation, in this process, would be under way by now)
    assert not server.context.invitations
    assert len(callee_rec.calls("on_remote_invitation_received")) == 1


@pytest.fixture
def no_cycle_collector():
    """Only reference counting frees memory while the test runs (as between the rare
    full collections of a tuned server)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_connection_that_logged_out_is_freed_by_reference_counting(
    server, logged_in, no_cycle_collector
):
    """No cycle keeps a finished connection (its link, socket, reader) for the collector."""
    users = [logged_in(f"user{n}")[0] for n in range(4)]
    wait_until(lambda: live_links() == 4)
    for rtm in users:
        rtm.logout().get(timeout=5)
    wait_until(lambda: not server.context.directory)
    wait_until(lambda: live_links() == 0, timeout=5)


def live_links() -> int:
    return sum(isinstance(o, Link) for o in gc.get_objects())
