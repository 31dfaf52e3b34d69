"""The node's InvitationDesk, the one owner of its invitations, with recording parties
in place of sessions (no sockets): what it tells whom, and what it keeps."""

from __future__ import annotations

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rtm_actors.protocol.codes import (
    InvitationApiCallErrCode as Api,
    LocalInvitationErrCode,
    PeerOnlineState,
)
from rtm_actors.protocol.invitation import InvitationTimings
from rtm_actors.server import channel_messages as chm
from rtm_actors.server.context import ServerContext
from rtm_actors.server.invitation_actor import (
    Acknowledged,
    Answer,
    Cancel,
    DeskHeadcount,
    Involve,
    PartyGone,
    PushInvitation,
    Uninvolve,
    desk_headcount,
    invitation_ref,
    invitations_in_flight,
    start_invitation,
)
from rtm_actors.server.invitation_desk import start_desk
from rtm_actors.store.memory import MemoryOfflineStore
from rtm_actors.testing import fast_server_config, wait_until


class Party:
    """Stands in for a party's session: records what the desk tells it."""

    def __init__(self, fail_on: type | None = None) -> None:
        self.got: list[object] = []
        self.fail_on = fail_on

    def tell(self, message: object) -> None:
        if self.fail_on is not None and isinstance(message, self.fail_on):
            raise RuntimeError("this session's handler is broken")
        self.got.append(message)

    def events(self) -> list[str]:
        return [m.frame.event for m in self.got if isinstance(m, PushInvitation)]

    def replies(self) -> list[int]:
        return [m.frame.code for m in self.got if isinstance(m, chm.SendFrame)]


@pytest.fixture
def node():
    timings = InvitationTimings(offline_retry=0.2, no_ack=5.0, expire=10.0)
    config = fast_server_config(invitation_timings=timings)
    ctx = ServerContext(config=config, store=MemoryOfflineStore())
    ctx.invitation_desk = start_desk(ctx.desk_services(), ctx.supervisor)
    yield ctx
    ctx.invitation_desk.stop()


def online(ctx: ServerContext, user_id: str, app_id: str = "app") -> Party:
    party = Party()
    ctx.directory.register((app_id, user_id), party, f"sk-{user_id}")
    return party


KEY = ("app", "alice", 1)


def test_an_accepted_invitation_leaves_nothing_on_the_desk(node):
    """The whole accept handshake, then no invitation, timer or watch is kept."""
    alice, bob = Party(), online(node, "bob")
    ref = start_invitation(node, KEY, alice, "bob", "hi", "room")
    assert [type(m) for m in bob.got] == [Involve, PushInvitation]
    ref.tell(Acknowledged("callee", "received"))
    bob_ref = bob.got[0].actor
    bob_ref.tell(Answer(bob, "bob", 5, True, "ok"))
    assert bob.replies() == [Api.OK]
    assert alice.events() == ["received_by_peer", "accepted"]
    ref.tell(Acknowledged("caller", "accepted"))
    assert bob.events() == ["received", "accepted"]
    assert Uninvolve(KEY) in alice.got
    assert Uninvolve(KEY) in bob.got
    assert desk_headcount(node) == DeskHeadcount(0, 0, 0)
    assert node.metrics.invitations["accepted"] == 1


def test_a_request_for_an_invitation_not_in_flight_is_answered_already_end(node):
    """Cancel or answer an invitation the desk does not hold: ALREADY_END to the teller."""
    alice, bob = Party(), Party()
    invitation_ref(node, KEY).tell(Cancel(alice, 3))
    invitation_ref(node, KEY).tell(Answer(bob, "bob", 4, True, ""))
    assert alice.replies() == [Api.ALREADY_END]
    assert bob.replies() == [Api.ALREADY_END]


def test_only_the_callee_may_answer(node):
    """Another user's answer is INVALID_ARGUMENT and leaves the invitation as it was."""
    alice, mallory = Party(), Party()
    online(node, "bob")
    ref = start_invitation(node, KEY, alice, "bob", "", "")
    ref.tell(Answer(mallory, "mallory", 9, True, ""))
    assert mallory.replies() == [Api.INVALID_ARGUMENT]
    assert invitations_in_flight(node) == 1
    ref.tell(Cancel(alice, 10))
    assert alice.replies() == [Api.OK]
    assert alice.events() == ["canceled"]


def test_a_start_told_again_for_a_live_invitation_starts_nothing_new(node):
    """The caller's session re-sent it: the callee still has one invitation."""
    alice, bob = Party(), online(node, "bob")
    start_invitation(node, KEY, alice, "bob", "", "")
    start_invitation(node, KEY, alice, "bob", "", "")
    assert bob.events() == ["received"]
    assert invitations_in_flight(node) == 1


def test_an_offline_callee_is_waited_for_in_its_own_app_only(node):
    """A user of the same name logging in to another app delivers nothing; the callee's
    own login does, and once the invitation ended the desk watches nobody."""
    alice = Party()
    ref = start_invitation(node, KEY, alice, "bob", "", "")
    assert node.presence.watcher_count() == 1
    online(node, "bob", app_id="other")
    node.presence.set_state(("other", "bob"), PeerOnlineState.ONLINE)
    bob = online(node, "bob")
    assert bob.got == []
    node.presence.set_state(("app", "bob"), PeerOnlineState.ONLINE)
    wait_until(lambda: bob.events() == ["received"])
    ref.tell(PartyGone("caller"))
    assert desk_headcount(node) == DeskHeadcount(0, 0, 0)
    assert node.presence.watcher_count() == 0


def test_the_offline_timer_fails_the_invitation_on_the_wheel(node):
    """A callee that stays offline past ``offline_retry`` fails it with PEER_OFFLINE."""
    alice = Party()
    start_invitation(node, KEY, alice, "bob", "", "")
    wait_until(lambda: alice.events() == ["failed"], timeout=5)
    (push,) = [m for m in alice.got if isinstance(m, PushInvitation)]
    assert push.frame.code == LocalInvitationErrCode.PEER_OFFLINE
    assert desk_headcount(node) == DeskHeadcount(0, 0, 0)
    assert node.presence.watcher_count() == 0


def test_a_fault_in_one_invitation_ends_that_one_only(node):
    """A party whose session fails on a push ends its invitation; the desk and the
    other invitations go on."""
    broken = Party(fail_on=PushInvitation)
    node.directory.register(("app", "carol"), broken, "sk-carol")
    bob = online(node, "bob")
    alice = Party()
    start_invitation(node, ("app", "alice", 1), alice, "carol", "", "")
    start_invitation(node, ("app", "alice", 2), alice, "bob", "", "")
    assert invitations_in_flight(node) == 1
    assert bob.events() == ["received"]
    assert Uninvolve(("app", "alice", 1)) in alice.got


class DeskRun(RuleBasedStateMachine):
    """Random inputs from both parties of a few invitations, in any order: every
    invitation ends once, both parties that hear its end hear the same outcome, nothing
    is pushed after it, and the desk keeps nothing of it."""

    def __init__(self) -> None:
        super().__init__()
        config = fast_server_config(invitation_timings=InvitationTimings(60.0, 60.0, 60.0))
        self.ctx = ServerContext(config=config, store=MemoryOfflineStore())
        self.ctx.invitation_desk = start_desk(self.ctx.desk_services(), self.ctx.supervisor)
        self.callers: dict[int, Party] = {}
        self.callees: dict[int, Party] = {}
        self.callers_gone: set[int] = set()
        self.next_id = 1

    def key(self, n: int) -> tuple[str, str, int]:
        return ("app", "alice", n)

    def ref(self, n: int):
        return invitation_ref(self.ctx, self.key(n))

    @rule(online=st.booleans())
    def start(self, online):
        n = self.next_id
        self.next_id += 1
        callee = Party()
        if online:
            self.ctx.directory.register(("app", f"bob{n}"), callee, f"sk{n}")
        self.callers[n], self.callees[n] = Party(), callee
        start_invitation(self.ctx, self.key(n), self.callers[n], f"bob{n}", "", "")

    @precondition(lambda self: self.callers)
    @rule(data=st.data())
    def party_input(self, data):
        n = data.draw(st.sampled_from(sorted(self.callers)))
        caller, callee = self.callers[n], self.callees[n]
        message = data.draw(
            st.sampled_from(
                [
                    Acknowledged("callee", "received"),
                    Acknowledged("caller", "accepted"),
                    Answer(callee, f"bob{n}", 1, True, "yes"),
                    Answer(callee, f"bob{n}", 2, False, "no"),
                    Cancel(caller, 3),
                    PartyGone("caller"),
                    PartyGone("callee"),
                ]
            )
        )
        if message == PartyGone("caller"):
            self.callers_gone.add(n)
        self.ref(n).tell(message)

    @invariant()
    def each_invitation_ends_once_and_alike(self):
        terminal = {"accepted", "refused", "canceled", "failed"}
        live = 0
        for n, caller in self.callers.items():
            callee = self.callees[n]
            ended = Uninvolve(self.key(n)) in caller.got
            live += not ended
            for party in (caller, callee):
                assert party.got.count(Uninvolve(self.key(n))) <= 1
                ends = [e for e in party.events() if e in terminal]
                assert len(ends) <= 1
                if ends:
                    assert party.events()[-1] == ends[0]  # nothing after the end
                    # (The caller hears "accepted" before the handshake ends it.)
                    assert ended or (party is caller and ends == ["accepted"])
            caller_end = [e for e in caller.events() if e in terminal]
            callee_end = [e for e in callee.events() if e in terminal]
            if caller_end and callee_end:
                # The one documented exception (docs/invitations.md, "Known gaps"): the
                # caller's session ended between its "accepted" push and its ack.
                gap = n in self.callers_gone and (caller_end, callee_end) == (
                    ["accepted"],
                    ["failed"],
                )
                assert caller_end == callee_end or gap
        assert invitations_in_flight(self.ctx) == live

    def teardown(self) -> None:
        for n in self.callers:
            self.ref(n).tell(PartyGone("caller"))
        assert desk_headcount(self.ctx) == DeskHeadcount(0, 0, 0)
        assert self.ctx.presence.watcher_count() == 0
        self.ctx.invitation_desk.stop()


TestDeskRun = DeskRun.TestCase
TestDeskRun.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
