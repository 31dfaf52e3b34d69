"""The server's peer session machine: its rules as examples, then a stateful test.

No sockets, no greenlets, no sleeps: each session talks to a ``RecordingPort`` that
keeps every effect as a frozen object and answers the machine's questions from plain
dicts; tells between sessions wait in a ``Network`` until a test hands them over.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rtm_actors.protocol.codes import (
    ConnectionChangeReason,
    DisconnectCode,
    InvitationApiCallErrCode,
    JoinChannelErr,
    LeaveChannelErr,
    LoginErrCode,
    PeerMessageErrCode as Code,
    PeerOnlineState,
    RenewTokenErrCode,
)
from rtm_actors.protocol.frames import (
    AnswerInvitation,
    GetUserAttributes,
    InvitationEvent,
    JoinChannel,
    LeaveChannel,
    LoginOk,
    Logout,
    PeerMessage,
    PresenceChanged,
    RenewToken,
    Reply,
    SendInvitation,
    SendPeerMessage,
    SetLocalAttributes,
    Subscribe,
    TokenWillExpire,
    WireMessage,
)
from rtm_actors.protocol.server_session import ServerSession
from rtm_actors.protocol.server_session_io import (
    CancelSessionTimer,
    ChannelJoin,
    ChannelLeave,
    CloseSessionLink,
    DeleteStored,
    Deliver,
    Delivered,
    Effect,
    ForgetLink,
    InvitationAcknowledged,
    LeaveInvitation,
    SaveAttributes,
    SessionConfig,
    SessionTimer,
    StartSessionTimer,
    Stop,
    TakeLink,
    TakenOver,
    held_size,
)
from rtm_actors.protocol.tokens import TokenCheck

APP = "app"


@dataclass(frozen=True)
class Ref:
    """A stand-in for an actor ref: the name of what it points at."""

    name: str

    def tell(self, message: Any) -> None:
        raise AssertionError("the machine tells through its port only")


@dataclass(frozen=True)
class Sent:
    frame: Any


@dataclass(frozen=True)
class SentBytes:
    data: bytes


@dataclass(frozen=True)
class Told:
    to: Ref
    message: Any


@dataclass(frozen=True)
class Counted:
    counter: str
    label: str


@dataclass
class Node:
    """Node-wide state the sessions share: routing, presence, store, quotas, rates."""

    routes: dict[str, Ref] = field(default_factory=dict)
    alive: set[Ref] = field(default_factory=set)
    presence: dict[str, PeerOnlineState] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    stored: dict[str, list[Deliver]] = field(default_factory=dict)
    #: Message ids the store ever kept (CACHED_BY_SERVER must be one of them).
    ever_stored: set[int] = field(default_factory=set)
    store_works: bool = True
    rates_ok: bool = True
    quota_ok: bool = True
    next_store_id: int = 1


class RecordingPort:
    """A ``SessionPort`` that records effects and answers from a ``Node``."""

    def __init__(self, node: Node, user_id: str, network: Network | None = None) -> None:
        self.node = node
        self.user_id = user_id
        self.ref = Ref(user_id)
        self.network = network
        self.effects: list[object] = []
        self.backlog_size = 0
        self.invitations: dict[tuple[str, str, int], Ref] = {}

    # effects
    def send(self, frame: Any) -> None:
        self.effects.append(Sent(frame))

    def send_bytes(self, data: bytes) -> None:
        self.effects.append(SentBytes(data))

    def tell(self, ref: Any, message: Deliver | Delivered) -> bool:
        self.effects.append(Told(ref, message))
        if ref not in self.node.alive:
            return False
        if self.network is not None:
            self.network.queue.append((ref, message))
        return True

    def perform(self, effect: Effect) -> bool:
        self.effects.append(effect)
        if isinstance(effect, Stop):
            self.node.alive.discard(self.ref)
        if isinstance(effect, SaveAttributes):
            self.node.attributes[self.user_id] = effect.attributes
        if isinstance(effect, DeleteStored):
            ids = set(effect.store_ids)
            mine = self.node.stored.get(self.user_id, [])
            self.node.stored[self.user_id] = [d for d in mine if d.store_id not in ids]
        return True

    def count(self, counter: str, label: str = "") -> None:
        self.effects.append(Counted(counter, label))

    # questions
    def allow(self, what: str, now: float) -> bool:
        return self.node.rates_ok

    def allow_join(self, channel_id: str, now: float) -> bool:
        return self.node.rates_ok

    def route(self, user_id: str) -> Ref | None:
        return self.node.routes.get(user_id)

    def backlog(self) -> int:
        return self.backlog_size

    def silent_for(self) -> float:
        return 1.0

    def check_token(self, token: str) -> TokenCheck:
        if token == "good":
            return TokenCheck(LoginErrCode.OK, 2000, "007", session_expires_at=2000)
        return TokenCheck(LoginErrCode.INVALID_TOKEN, None, None)

    def set_presence(self, state: PeerOnlineState) -> bool:
        self.node.presence[self.user_id] = state
        return True

    def unregister(self) -> bool:
        if self.node.routes.get(self.user_id) == self.ref:
            del self.node.routes[self.user_id]
            return True
        return False

    def presence_states(self, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        return {u: self.node.presence.get(u, PeerOnlineState.OFFLINE) for u in user_ids}

    def watch(self, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        return self.presence_states(user_ids)

    def attributes(self, user_id: str) -> dict[str, str]:
        return dict(self.node.attributes.get(user_id, {}))

    def stored_messages(self, now_ms: int) -> Iterable[Deliver]:
        return list(self.node.stored.get(self.user_id, []))

    def channel(self, channel_id: str) -> Ref:
        return Ref("channel:" + channel_id)

    def live_channel(self, channel_id: str) -> Ref | None:
        return None

    def channel_for_write(self, channel_id: str) -> Ref | None:
        return Ref("channel:" + channel_id)

    def channel_counts(self, channel_ids: list[str]) -> dict[str, int]:
        return dict.fromkeys(channel_ids, 1)

    def invitation(self, key: tuple[str, str, int]) -> Ref | None:
        return self.invitations.get(key)

    def start_invitation(
        self, invitation_id: int, callee_id: str, content: str, channel_id: str
    ) -> Ref:
        ref = Ref(f"invitation:{invitation_id}")
        self.invitations[(APP, self.user_id, invitation_id)] = ref
        return ref

    # offline store
    def accepts_offline(self) -> bool:
        return True

    def admit_offline(self, sender_id: str, size: int, at_s: float) -> bool:
        return self.node.quota_ok

    def release_offline(self, sender_id: str, size: int, at_s: float) -> None:
        pass

    def store_offline(self, receiver_id: str, delivery: Deliver) -> bool:
        if not self.node.store_works:
            return False
        kept = Deliver(
            None,
            delivery.sender_id,
            delivery.message,
            delivery.ts,
            True,
            self.node.next_store_id,
        )
        self.node.next_store_id += 1
        self.node.stored.setdefault(receiver_id, []).append(kept)
        self.node.ever_stored.add(delivery.message.id)
        return True

    # reading what happened
    def take(self) -> list[object]:
        effects, self.effects = self.effects, []
        return effects

    def frames(self, kind: type | None = None) -> list[Any]:
        return [
            e.frame
            for e in self.effects
            if isinstance(e, Sent) and (kind is None or isinstance(e.frame, kind))
        ]

    def told(self, kind: type) -> list[Any]:
        return [
            e.message for e in self.effects if isinstance(e, Told) and isinstance(e.message, kind)
        ]


class Network:
    """Tells between sessions, waiting to be handed over (as an actor's inbox would)."""

    def __init__(self) -> None:
        self.queue: deque[tuple[Ref, Any]] = deque()
        self.sessions: dict[Ref, ServerSession] = {}

    def step(self) -> None:
        ref, message = self.queue.popleft()
        session = self.sessions[ref]
        if isinstance(message, Deliver):
            session.deliver(message)
        else:
            session.delivered(message)

    def drain(self) -> None:
        while self.queue:
            self.step()


def new_session(
    node: Node,
    user_id: str,
    config: SessionConfig | None = None,
    network: Network | None = None,
    *,
    attach: bool = True,
) -> tuple[ServerSession, RecordingPort]:
    port = RecordingPort(node, user_id, network)
    session = ServerSession(
        port, config or SessionConfig(), APP, user_id, "key-" + user_id, port.ref, now=0.0
    )
    node.routes[user_id] = port.ref
    node.alive.add(port.ref)
    if network is not None:
        network.sessions[port.ref] = session
    if attach:
        assert session.attach(1, 1, resumed=False, peer="p", token=None, wall=1000.0)
    return session, port


def send(session: ServerSession, rid: int, to: str, msg_id: int, *, offline: bool = False) -> None:
    frame = SendPeerMessage(rid, to, WireMessage(msg_id, 1, f"m{msg_id}"), offline)
    session.frame(frame, now=1.0, wall=1000.0)


def replies(port: RecordingPort) -> dict[int, int]:
    return {f.rid: f.code for f in port.frames(Reply)}


# -- the link ---------------------------------------------------------------------------


def test_attach_answers_login_ok_after_taking_the_link() -> None:
    """A fresh login clears the user's attributes, says ONLINE, takes the link, then
    answers LoginOk with the session key and the heartbeat."""
    node = Node()
    session, port = new_session(node, "ann", attach=False)
    assert session.attach(7, 3, resumed=False, peer="1.2.3.4:5", token=None, wall=1000.0)
    effects = port.take()
    took = effects.index(TakeLink())
    login_ok = effects.index(
        Sent(LoginOk(3, "key-ann", 1_000_000, resumed=False, heartbeat_s=10.0))
    )
    assert effects.index(SaveAttributes({})) < took < login_ok
    assert node.presence["ann"] is PeerOnlineState.ONLINE
    assert session.link_id == 7


def test_an_ended_session_refuses_to_attach_and_says_taken_over() -> None:
    """A fresh login that finds its session already ended is told REMOTE_LOGIN."""
    node = Node()
    session, port = new_session(node, "ann")
    session.kick(ConnectionChangeReason.REMOTE_LOGIN, None, now=5.0)
    port.take()
    assert not session.attach(2, 1, resumed=False, peer="", token=None, wall=0.0)
    assert port.take() == [TakenOver()]
    assert not session.attach(3, 1, resumed=True, peer="", token=None, wall=0.0)
    assert port.take() == []


def test_a_lost_link_starts_the_grace_and_unreachable_timers() -> None:
    """The link's end starts the grace period and the unreachable timer, reduced by the
    time the link had already been silent; the grace timer then ends the session."""
    node = Node()
    session, port = new_session(node, "ann", SessionConfig(grace_period=30, unreachable_after=6))
    port.take()
    session.link_closed("closed")
    effects = port.take()
    assert ForgetLink() in effects
    assert StartSessionTimer(SessionTimer.GRACE, 30) in effects
    assert StartSessionTimer(SessionTimer.UNREACHABLE, 5.0) in effects  # 6 s less 1 s silent
    session.timer_fired(SessionTimer.UNREACHABLE, now=6.0)
    unreachable = node.presence["ann"]
    session.timer_fired(SessionTimer.GRACE, now=31.0)
    assert session.ended
    assert (unreachable, node.presence["ann"]) == (
        PeerOnlineState.UNREACHABLE,
        PeerOnlineState.OFFLINE,
    )
    assert Stop() in port.effects


def test_a_resumed_link_gets_every_unacknowledged_push_again() -> None:
    """Pushes not acknowledged before the link dropped are sent again, same numbers."""
    node = Node()
    bob, bob_port = new_session(node, "bob")
    for i in (1, 2, 3):
        bob.deliver(Deliver(Ref("alice"), "alice", WireMessage(i, 1, "x"), 5, False))
    bob.ack(1)
    bob.link_closed("closed")
    bob_port.take()
    assert bob.attach(2, 9, resumed=True, peer="", token=None, wall=1000.0)
    assert [(f.seq, f.message.id) for f in bob_port.frames(PeerMessage)] == [(2, 2), (3, 3)]
    assert CancelSessionTimer(SessionTimer.GRACE) in bob_port.effects


def test_logout_replies_closes_and_ends() -> None:
    """Logout is answered OK, then the link is closed LOGGED_OUT and the session ends."""
    node = Node()
    session, port = new_session(node, "ann")
    port.take()
    session.frame(Logout(4), now=2.0, wall=0.0)
    effects = port.take()
    assert effects[0] == Sent(Reply(4, 0))
    assert effects[1] == CloseSessionLink(DisconnectCode.LOGGED_OUT, "logged out")
    assert effects[-1] == Stop()
    assert "ann" not in node.routes


# -- peer messages ------------------------------------------------------------------------


def test_a_peer_message_is_ok_only_once_the_receiver_acknowledged_it() -> None:
    """Sender -> Deliver -> receiver pushes it -> Ack -> Delivered -> Reply(OK, ts)."""
    node, net = Node(), Network()
    alice, alice_port = new_session(node, "alice", network=net)
    bob, bob_port = new_session(node, "bob", network=net)
    send(alice, 10, "bob", 1)
    assert replies(alice_port) == {}
    net.drain()
    (pushed,) = bob_port.frames(PeerMessage)
    assert (pushed.peer_id, pushed.message.text, pushed.ts) == ("alice", "m1", 1_000_000)
    assert replies(alice_port) == {}
    bob.ack(pushed.seq)
    net.drain()
    assert alice_port.frames(Reply)[-1] == Reply(10, Code.OK, 1_000_000)


def test_invalid_peer_messages_are_refused_without_counting_a_send() -> None:
    """A bad user id or message kind is refused before the rate limit and routing."""
    node = Node()
    alice, port = new_session(node, "alice")
    alice.frame(SendPeerMessage(1, "", WireMessage(1)), now=0.0, wall=0.0)
    alice.frame(SendPeerMessage(2, "bob", WireMessage(2, kind=99)), now=0.0, wall=0.0)
    assert replies(port) == {1: Code.INVALID_USERID, 2: Code.INVALID_MESSAGE}
    assert alice.sent == 0


def test_over_the_rate_limit_a_message_is_too_often() -> None:
    """The user's message rate (node-wide, outliving sessions) answers TOO_OFTEN."""
    node = Node(rates_ok=False)
    alice, port = new_session(node, "alice")
    send(alice, 1, "bob", 1)
    assert replies(port) == {1: Code.TOO_OFTEN}


@pytest.mark.parametrize(
    ("offline", "store_works", "quota_ok", "expected"),
    [
        (False, True, True, Code.PEER_UNREACHABLE),
        (True, True, True, Code.CACHED_BY_SERVER),
        (True, False, True, Code.PEER_UNREACHABLE),
        (True, True, False, Code.TOO_OFTEN),
    ],
)
def test_a_message_to_an_offline_user_is_stored_only_if_asked_and_kept(
    offline: bool, store_works: bool, quota_ok: bool, expected: Code
) -> None:
    """CACHED_BY_SERVER only if the sender asked and the store kept it; over the quota
    TOO_OFTEN; otherwise PEER_UNREACHABLE."""
    node = Node(store_works=store_works, quota_ok=quota_ok)
    alice, port = new_session(node, "alice")
    send(alice, 1, "nobody", 5, offline=offline)
    assert replies(port) == {1: expected}
    assert (5 in node.ever_stored) is (expected is Code.CACHED_BY_SERVER)


def test_a_re_sent_copy_waits_for_the_first_and_gets_its_outcome() -> None:
    """A copy re-sent while the first is on its way is not delivered twice; the
    receipt answers the newer request; a copy sent after is answered at once."""
    node, net = Node(), Network()
    alice, alice_port = new_session(node, "alice", network=net)
    bob, bob_port = new_session(node, "bob", network=net)
    send(alice, 1, "bob", 7)
    send(alice, 2, "bob", 7)
    net.drain()
    assert len(bob_port.frames(PeerMessage)) == 1
    bob.ack(1)
    net.drain()
    assert replies(alice_port) == {2: Code.OK}
    send(alice, 3, "bob", 7)
    assert replies(alice_port)[3] == Code.OK
    assert len(bob_port.frames(PeerMessage)) == 1


def test_an_unreachable_outcome_is_not_remembered() -> None:
    """A message neither delivered nor kept may be tried again: no cached answer."""
    node = Node()
    alice, port = new_session(node, "alice")
    send(alice, 1, "bob", 7)
    node.routes["bob"] = Ref("bob")
    node.alive.add(Ref("bob"))
    send(alice, 2, "bob", 7)
    assert replies(port) == {1: Code.PEER_UNREACHABLE}  # 2 waits for its receipt


def test_a_full_window_cuts_off_the_client_and_refuses_the_message() -> None:
    """Past max_unacked the connected client is cut off as slow (once), and the
    message is refused PEER_UNREACHABLE, not stored."""
    node = Node()
    bob, port = new_session(node, "bob", SessionConfig(max_unacked=2))
    alice = Ref("alice")
    for i in range(4):
        bob.deliver(Deliver(alice, "alice", WireMessage(i, 1, "x"), 5, True))
    effects = port.take()
    assert (
        effects.count(CloseSessionLink(DisconnectCode.SLOW_CONSUMER, "not reading fast enough"))
        == 1
    )
    assert Counted("slow_consumers", "") in effects
    refused = [e.message for e in effects if isinstance(e, Told)]
    assert refused == [
        Delivered("bob", 2, Code.PEER_UNREACHABLE),
        Delivered("bob", 3, Code.PEER_UNREACHABLE),
    ]
    assert len(bob.window) == 2


def test_the_window_is_bounded_in_bytes() -> None:
    """A push that would take the window past max_unacked_bytes is refused."""
    node = Node()
    bob, _ = new_session(node, "bob", SessionConfig(max_unacked_bytes=10))
    bob.deliver(Deliver(Ref("a"), "a", WireMessage(1, 1, "123456"), 5, False))
    bob.deliver(Deliver(Ref("a"), "a", WireMessage(2, 1, "123456"), 5, False))
    assert len(bob.window) == 1
    assert bob.window_bytes == 6


def test_a_deep_inbox_cuts_off_the_client() -> None:
    """Past max_backlog messages waiting in the inbox, the client is cut off as slow."""
    node = Node()
    bob, port = new_session(node, "bob", SessionConfig(max_backlog=3))
    port.backlog_size = 4
    bob.deliver(Deliver(Ref("a"), "a", WireMessage(1, 1, "x"), 5, False))
    assert bob.link_id is None
    assert CloseSessionLink(DisconnectCode.SLOW_CONSUMER, "not reading fast enough") in port.effects


def test_stored_messages_come_at_login_and_are_deleted_once_acknowledged() -> None:
    """Offline messages are pushed at login (marked offline) and deleted from the store
    when acknowledged; they give no receipt (the sender had CACHED_BY_SERVER)."""
    node = Node()
    alice, _ = new_session(node, "alice")
    send(alice, 1, "bob", 4, offline=True)
    bob, port = new_session(node, "bob")
    (pushed,) = port.frames(PeerMessage)
    assert pushed.offline
    bob.ack(pushed.seq)
    assert DeleteStored((1,)) in port.effects
    assert node.stored["bob"] == []
    assert port.told(Delivered) == []


def test_an_ending_session_hands_its_pushes_to_its_successor() -> None:
    """Kicked by a newer login, a session tells its unacknowledged deliveries to it."""
    node = Node()
    old, port = new_session(node, "bob")
    successor = Ref("bob-2")
    node.alive.add(successor)
    d = Deliver(Ref("alice"), "alice", WireMessage(1, 1, "x"), 5, False)
    old.deliver(d)
    old.kick(ConnectionChangeReason.REMOTE_LOGIN, successor, now=3.0)
    assert Told(successor, d) in port.effects
    assert CloseSessionLink(DisconnectCode.REMOTE_LOGIN, "REMOTE_LOGIN") in port.effects


def test_an_ending_session_stores_or_reports_what_it_could_not_deliver() -> None:
    """With no successor, an unacknowledged message is stored if the sender asked
    (CACHED_BY_SERVER), else reported PEER_UNREACHABLE."""
    node = Node()
    bob, port = new_session(node, "bob")
    alice = Ref("alice")
    bob.deliver(Deliver(alice, "alice", WireMessage(1, 1, "x"), 5, True))
    bob.deliver(Deliver(alice, "alice", WireMessage(2, 1, "x"), 5, False))
    bob.shutdown(now=1.0)
    assert port.told(Delivered) == [
        Delivered("bob", 1, Code.CACHED_BY_SERVER),
        Delivered("bob", 2, Code.PEER_UNREACHABLE),
    ]
    assert [d.message.id for d in node.stored["bob"]] == [1]


# -- presence, attributes, tokens ------------------------------------------------------------


def test_presence_changes_missed_while_away_arrive_as_one_push() -> None:
    """Subscribed users' changes while the link is down come in one PresenceChanged."""
    node = Node(presence={"c": PeerOnlineState.ONLINE})
    ann, port = new_session(node, "ann")
    ann.frame(Subscribe(2, ["c", "d"]), now=0.0, wall=0.0)
    assert port.frames(PresenceChanged)[-1].states == {"c": 0, "d": 2}
    ann.ack(1)
    ann.link_closed("closed")
    ann.presence_update("c", PeerOnlineState.OFFLINE)
    ann.presence_update("d", PeerOnlineState.ONLINE)
    ann.presence_update("e", PeerOnlineState.ONLINE)  # not watched
    port.take()
    ann.attach(2, 3, resumed=True, peer="", token=None, wall=0.0)
    (missed,) = list(port.frames(PresenceChanged))
    assert missed.states == {"c": 2, "d": 0}


def test_attribute_writes_are_the_users_own_and_reads_need_the_user_online() -> None:
    """A write replaces the user's own attributes; reading an offline user's is
    USER_NOT_FOUND."""
    node = Node()
    ann, port = new_session(node, "ann")
    ann.frame(SetLocalAttributes(1, {"k": "v"}), now=0.0, wall=0.0)
    assert node.attributes["ann"] == {"k": "v"}
    ann.frame(GetUserAttributes(2, "ann"), now=0.0, wall=0.0)
    ann.frame(GetUserAttributes(3, "zed"), now=0.0, wall=0.0)
    got = {f.rid: (f.code, f.attributes) for f in port.frames() if hasattr(f, "attributes")}
    assert got[2] == (0, {"k": "v"})
    assert got[3][0] != 0


def test_a_token_sets_warning_and_expiry_timers_and_expiry_kicks() -> None:
    """A token expiring in 100 s warns 30 s before; its expiry ends the session with
    a TOKEN_EXPIRED kick."""
    node = Node()
    ann, port = new_session(node, "ann", attach=False)
    token = TokenCheck(LoginErrCode.OK, 1100, "007", session_expires_at=1100)
    ann.attach(1, 1, resumed=False, peer="", token=token, wall=1000.0)
    assert StartSessionTimer(SessionTimer.TOKEN_WARN, 70.0) in port.effects
    assert StartSessionTimer(SessionTimer.TOKEN_EXPIRED, 100.0) in port.effects
    ann.timer_fired(SessionTimer.TOKEN_WARN, now=70.0)
    assert port.frames(TokenWillExpire) == [TokenWillExpire(1100)]
    ann.timer_fired(SessionTimer.TOKEN_EXPIRED, now=100.0)
    assert ann.ended
    assert CloseSessionLink(DisconnectCode.TOKEN_EXPIRED, "TOKEN_EXPIRED") in port.effects


def test_renewing_with_a_bad_token_keeps_the_expiry() -> None:
    """An invalid renewal is refused and changes no timer; a good one replaces them."""
    node = Node()
    ann, port = new_session(node, "ann")
    port.take()
    ann.frame(RenewToken(5, "bad"), now=0.0, wall=1000.0)
    assert port.take() == [Sent(Reply(5, RenewTokenErrCode.INVALID_TOKEN))]
    ann.frame(RenewToken(6, "good"), now=0.0, wall=1000.0)
    assert StartSessionTimer(SessionTimer.TOKEN_EXPIRED, 1000.0) in port.effects
    assert ann.token_expires_at == 2000


# -- channels and invitations ---------------------------------------------------------------------


def test_join_then_leave_a_channel() -> None:
    """A join goes to the channel's actor; leaving a channel not joined is refused."""
    node = Node()
    ann, port = new_session(node, "ann")
    ann.frame(JoinChannel(1, "room"), now=0.0, wall=0.0)
    assert ChannelJoin(Ref("channel:room"), "room", 1, "", 0) in port.effects
    ann.frame(LeaveChannel(2, "room"), now=0.0, wall=0.0)
    assert ChannelLeave(Ref("channel:room"), "room", 2) in port.effects
    ann.frame(LeaveChannel(3, "room"), now=0.0, wall=0.0)
    assert port.frames(Reply)[-1] == Reply(3, LeaveChannelErr.NOT_IN_CHANNEL)


def test_a_bad_channel_id_is_refused_before_the_rate_limit() -> None:
    """An invalid channel id is INVALID_ARGUMENT and starts no channel."""
    node = Node(rates_ok=False)
    ann, port = new_session(node, "ann")
    ann.frame(JoinChannel(1, ""), now=0.0, wall=0.0)
    assert port.frames()[-1].code == JoinChannelErr.INVALID_ARGUMENT
    assert not [e for e in port.effects if isinstance(e, ChannelJoin)]


def test_channel_bytes_go_out_only_for_a_joined_channel() -> None:
    """A channel's pre-built frame is written only while the session is a member."""
    node = Node()
    ann, port = new_session(node, "ann")
    ann.channel_bytes("room", b"x")
    ann.frame(JoinChannel(1, "room"), now=0.0, wall=0.0)
    ann.channel_bytes("room", b"y")
    assert [e for e in port.effects if isinstance(e, SentBytes)] == [SentBytes(b"y")]


def test_invitation_pushes_are_acknowledged_to_the_invitation() -> None:
    """An invitation event waits in the window; its Ack is reported to the invitation."""
    node = Node()
    ann, port = new_session(node, "ann")
    actor = Ref("invitation")
    event = InvitationEvent(0, "callee", "received", 1, "bob", "ann")
    ann.invitation_push(event, "callee", actor)
    (pushed,) = list(port.frames(InvitationEvent))
    assert pushed.seq == 1
    ann.ack(1)
    assert InvitationAcknowledged(actor, "callee", "received") in port.effects


def test_only_the_acknowledgements_an_invitation_waits_for_are_reported() -> None:
    """The caller's "received_by_peer" and the callee's final event change nothing on
    the server: acknowledged, they are released but not reported; the callee's
    "received" and the caller's "accepted" are."""
    node = Node()
    ann, port = new_session(node, "ann")
    actor = Ref("invitation")
    for seq, (role, event) in enumerate(
        [
            ("caller", "received_by_peer"),
            ("caller", "accepted"),
            ("callee", "received"),
            ("callee", "accepted"),
        ],
        start=1,
    ):
        ann.invitation_push(InvitationEvent(0, role, event, seq, "ann", "bob"), role, actor)
    ann.ack(4)
    reported = [e for e in port.effects if isinstance(e, InvitationAcknowledged)]
    assert reported == [
        InvitationAcknowledged(actor, "caller", "accepted"),
        InvitationAcknowledged(actor, "callee", "received"),
    ]
    assert len(ann.window) == 0


def test_a_re_sent_invitation_is_not_started_again() -> None:
    """The same invitation id sent twice starts one invitation; both are answered OK;
    an answer to an unknown invitation is ALREADY_END; ending leaves it."""
    node = Node()
    ann, port = new_session(node, "ann")
    ann.frame(SendInvitation(1, 9, "bob"), now=0.0, wall=0.0)
    ann.frame(SendInvitation(2, 9, "bob"), now=0.0, wall=0.0)
    assert replies(port) == {1: 0, 2: 0}
    assert len(port.invitations) == 1
    ann.frame(AnswerInvitation(3, "zed", 1, accept=True), now=0.0, wall=0.0)
    assert replies(port)[3] == InvitationApiCallErrCode.ALREADY_END
    ann.shutdown(now=1.0)
    assert LeaveInvitation(Ref("invitation:9"), "caller") in port.effects


# -- stateful: two sessions and the network between them ---------------------------------------


class PeerMessaging(RuleBasedStateMachine):
    """Alice sends to Bob, whose link drops and comes back, whose client acknowledges
    some of what it got, whose session may end; the store may fail, the rate limit may
    refuse. Whatever the order, the receipts tell the truth."""

    def __init__(self) -> None:
        super().__init__()
        self.node = Node()
        self.net = Network()
        self.config = SessionConfig(max_unacked=3, max_unacked_bytes=30, dedup_window=64)
        self.alice, self.alice_port = new_session(self.node, "alice", self.config, self.net)
        self.bob, self.bob_port = new_session(self.node, "bob", self.config, self.net)
        self.rid = 0
        self.link = 1
        #: rid -> message id of every send Alice made.
        self.sent: dict[int, int] = {}
        self.acked_seq = 0

    def alice_replies(self) -> list[Reply]:
        return self.alice_port.frames(Reply)

    @rule(msg_id=st.integers(1, 6), offline=st.booleans(), size=st.integers(1, 12))
    def send(self, msg_id: int, offline: bool, size: int) -> None:
        self.rid += 1
        self.sent[self.rid] = msg_id
        frame = SendPeerMessage(self.rid, "bob", WireMessage(msg_id, 1, "x" * size), offline)
        self.alice.frame(frame, now=0.0, wall=1.0)

    @precondition(lambda self: self.net.queue)
    @rule()
    def hand_over(self) -> None:
        self.net.step()

    @precondition(lambda self: not self.bob.ended and self.bob.link_id is not None)
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        pushed = [f.seq for f in self.bob_port.frames(PeerMessage)]
        if not pushed:
            return
        seq = data.draw(st.sampled_from(pushed))
        before = {u.seq for u in self.bob.window.pending()}
        self.bob.ack(seq)
        after = {u.seq for u in self.bob.window.pending()}
        assert after == {s for s in before if s > seq}
        self.acked_seq = max(self.acked_seq, seq)

    @precondition(lambda self: not self.bob.ended and self.bob.link_id is not None)
    @rule()
    def bob_link_drops(self) -> None:
        self.bob.link_closed("closed")

    @precondition(lambda self: not self.bob.ended and self.bob.link_id is None)
    @rule()
    def bob_resumes(self) -> None:
        self.link += 1
        assert self.bob.attach(self.link, 1, resumed=True, peer="", token=None, wall=1.0)

    @precondition(lambda self: not self.bob.ended)
    @rule(kind=st.sampled_from(["grace", "shutdown", "logout"]))
    def bob_ends(self, kind: str) -> None:
        if kind == "grace":
            if self.bob.link_id is not None:
                self.bob.link_closed("closed")
            self.bob.timer_fired(SessionTimer.GRACE, now=99.0)
        elif kind == "shutdown":
            self.bob.shutdown(now=99.0)
        else:
            self.bob.frame(Logout(999), now=99.0, wall=1.0)
        assert self.bob.ended

    @rule(store_works=st.booleans(), rates_ok=st.booleans())
    def node_changes(self, store_works: bool, rates_ok: bool) -> None:
        self.node.store_works = store_works
        self.node.rates_ok = rates_ok

    @invariant()
    def window_within_bounds(self) -> None:
        window = self.bob.window
        assert len(window) <= self.config.max_unacked
        assert self.bob.window_bytes <= self.config.max_unacked_bytes
        held = sum(
            held_size(u.item.message) for u in window.pending() if isinstance(u.item, Deliver)
        )
        assert self.bob.window_bytes == held

    @invariant()
    def receipts_are_truthful(self) -> None:
        seen: set[int] = set()
        final: dict[int, int] = {}
        for reply in self.alice_replies():
            assert reply.rid not in seen, "one reply per request"
            seen.add(reply.rid)
            msg_id = self.sent[reply.rid]
            if reply.code == Code.CACHED_BY_SERVER:
                assert msg_id in self.node.ever_stored
            if msg_id in final:
                assert reply.code == final[msg_id], "a re-send gets the first final outcome"
            elif reply.code in (Code.OK, Code.CACHED_BY_SERVER):
                final[msg_id] = reply.code

    @invariant()
    def every_delivery_is_settled_once(self) -> None:
        """Each Deliver Bob's session took gets at most one Delivered back."""
        taken = [m.message.id for m in self.alice_port.told(Deliver)]
        settled = [m.message_id for m in self.bob_port.told(Delivered)]
        for msg_id in set(settled):
            assert settled.count(msg_id) <= taken.count(msg_id)

    def teardown(self) -> None:
        # Once Bob's session ends and everything in flight is handed over, no push is
        # left unsettled: every message Alice sent has been answered.
        if not self.bob.ended:
            self.bob.shutdown(now=100.0)
        self.net.drain()
        assert len(self.bob.window) == 0
        taken = [m.message.id for m in self.alice_port.told(Deliver)]
        settled = [m.message_id for m in self.bob_port.told(Delivered)]
        assert sorted(taken) == sorted(settled), "every delivery ends in one receipt"
        answered = {self.sent[r.rid] for r in self.alice_replies()}
        assert set(self.sent.values()) <= answered


TestPeerMessaging = PeerMessaging.TestCase
