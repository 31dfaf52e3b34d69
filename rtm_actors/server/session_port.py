"""The session's port onto its node: how a ``SessionActor`` carries out its machine's
effects and answers its questions (``protocol.server_session_io.SessionPort``).

This is the one place a session touches its node, through the ``SessionServices``
it was given (``server/services.py``); the machine sees only these methods. Which node
services it reaches, and why, is in ``docs/architecture.md``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, assert_never

import pykka

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import PeerOnlineState
from rtm_actors.protocol.frames import AnyServerFrame, ChannelMessage
from rtm_actors.protocol.server_session import stored_delivery
from rtm_actors.protocol.server_session_io import (
    AnswerInvitationRequest,
    CancelAllTimers,
    CancelInvitationRequest,
    CancelSessionTimer,
    ChannelCatchUp,
    ChannelJoin,
    ChannelLeave,
    CloseSessionLink,
    Counter,
    DeleteStored,
    Deliver,
    Delivered,
    Effect,
    ForgetLink,
    InvitationAcknowledged,
    LeaveInvitation,
    LogEvent,
    MembersRequest,
    PublishRequest,
    ReadChannelAttributes,
    SaveAttributes,
    SessionRef,
    StartSessionTimer,
    Stop,
    TakeLink,
    TakenOver,
    Unwatch,
    WriteChannelAttributes,
)
from rtm_actors.protocol.tokens import TokenCheck
from rtm_actors.runtime import NamedTimers, now, tell_or_run_inline
from rtm_actors.server import channel_messages as chm, messages as m
from rtm_actors.server.invitation_actor import (
    Acknowledged,
    Answer,
    Cancel,
    PartyGone,
    invitation_ref,
    start_invitation,
)
from rtm_actors.server.link import Link, MemberWriter, close_taken_over
from rtm_actors.server.metrics import RequestClock
from rtm_actors.store.base import StoredMessage, accepts_offline

if TYPE_CHECKING:
    from rtm_actors.server.services import DeskHolder, OfflineServices, SessionServices
    from rtm_actors.server.session import SessionActor


class NodeOffline:
    """The node's offline store and quotas for one app (``OfflinePort``)."""

    __slots__ = ("_app_id", "_offline")

    def __init__(self, offline: OfflineServices, app_id: str) -> None:
        self._offline = offline
        self._app_id = app_id

    def accepts_offline(self) -> bool:
        return accepts_offline(self._offline.store)

    def admit_offline(self, sender_id: str, size: int, at_s: float) -> bool:
        return self._offline.quota.admit(self._app_id, sender_id, size, at_s)

    def release_offline(self, sender_id: str, size: int, at_s: float) -> None:
        self._offline.quota.release(self._app_id, sender_id, size, at_s)

    def store_offline(self, receiver_id: str, delivery: Deliver) -> bool:
        msg = delivery.message
        stored = StoredMessage(delivery.sender_id, msg.id, msg.kind, msg.text, msg.raw, delivery.ts)
        offline = self._offline
        if not offline.store.push(self._app_id, receiver_id, stored):
            return False
        offline.stats.offline_stored += 1
        return True


class SessionParty:
    """The session as the desk sees it when it is a party: the caller of the
    invitations it starts, and where the replies to its answers and cancels go.

    The session hands the desk its inputs through ``hand``, and the desk mostly takes
    them inline, in the session's turn; what it tells this same session back meanwhile
    (the reply, the invitation's end) would wait in the session's inbox and wake its
    greenlet for it. So a message told while the session hands an input, with nothing
    waiting in its inbox, is kept here, and the session handles it at the end of its
    turn, in the same greenlet and in the order told (``SessionActor.on_receive``).
    Any other is told to the session.
    """

    __slots__ = ("_inbox_size", "handing", "later", "ref")

    def __init__(self, ref: SessionRef, inbox_size: Callable[[], int]) -> None:
        self.ref = ref
        self._inbox_size = inbox_size
        #: The session is handing the desk an input.
        self.handing = False
        #: What the desk told the session meanwhile, for the end of its turn.
        self.later: deque[Any] = deque()

    def hand(self, invitation: SessionRef, message: Any) -> bool:
        """Tell ``invitation`` (its desk) ``message``; answer whether it was alive."""
        self.handing = True
        try:
            return tell_or_run_inline(invitation, message)
        finally:
            self.handing = False

    def tell(self, message: Any) -> None:
        """Keep ``message`` for the end of the session's turn, or tell it the session;
        raise ``ActorDeadError`` if the session has stopped."""
        if self.handing and not self._inbox_size():
            self.later.append(message)
        elif not tell_or_run_inline(self.ref, message):
            raise pykka.ActorDeadError(f"{self.ref} is stopped")


class NodeSessionPort(NodeOffline):
    """A session's shell towards its link, its timers and the node's services."""

    __slots__ = (
        "_actor",
        "_clock",
        "_ctx",
        "_inbox_size",
        "_node",
        "_timers",
        "attaching",
        "link",
        "member",
        "metrics",
        "party",
        "tell",
        "user_id",
    )

    def __init__(self, node: SessionServices, actor: SessionActor, clock: RequestClock) -> None:
        super().__init__(node.offline, actor.app_id)
        self._node = node
        #: Where the invitation desk is (``invitation_actor``'s helpers take it).
        self._ctx: DeskHolder = node.invitations
        self._actor = actor
        self.user_id = actor.user_id
        self.metrics = node.metrics
        #: The session's requests in progress (reply latency metrics).
        self._clock = clock
        self._timers = NamedTimers(actor.actor_ref)
        #: The current link, and the one being attached (``TakeLink`` makes it current).
        self.link: Link | None = None
        self.attaching: Link | None = None
        #: What the session's channels may write to directly (their only handle on it).
        inbox: Any = actor.actor_inbox  # a GeventInbox
        self._inbox_size: Callable[[], int] = inbox.qsize
        self.member = MemberWriter(self._inbox_size)
        self.party = SessionParty(actor.actor_ref, self._inbox_size)
        # Another session's turn may run inline here: the peer-message path, as before.
        self.tell: Callable[[SessionRef, Deliver | Delivered], bool] = tell_or_run_inline

    # -- effects ----------------------------------------------------------------------

    def send(self, frame: AnyServerFrame) -> None:
        # A failed write marks the link closed; its reader greenlet then reports it.
        link = self.link
        if link is not None:
            self._clock.sent(frame)
            link.send(codec.encode(frame))

    def send_bytes(self, data: bytes) -> None:
        link = self.link
        if link is not None:
            metrics = self.metrics
            metrics.frames_out[ChannelMessage] += 1
            metrics.channel_deliveries += 1
            link.send_frame(data)

    def count(self, counter: Counter, label: str = "") -> None:
        stats = self._node.stats
        match counter:
            case "peer_messages":
                stats.peer_messages += 1
            case "deliveries":
                stats.deliveries += 1
            case "slow_consumers":
                stats.slow_consumers += 1
            case "protocol_errors":
                stats.protocol_errors += 1
            case "links_lost":
                self.metrics.links_lost[label] += 1
            case "sessions_ended":
                self.metrics.sessions_ended[label] += 1
            case _:
                assert_never(counter)

    def perform(self, effect: Effect) -> bool:
        actor = self._actor
        me, user_id = actor.actor_ref, self.user_id
        match effect:
            # (Invitation inputs first: a round trip performs three, and each case
            # passed costs a type check.)
            case InvitationAcknowledged(invitation=invitation, role=role, event=event):
                return self.party.hand(invitation, Acknowledged(role, event))
            case AnswerInvitationRequest(invitation=invitation, rid=rid):
                party = self.party
                answer = Answer(party, user_id, rid, effect.accept, effect.response)
                return party.hand(invitation, answer)
            case CancelInvitationRequest(invitation=invitation, rid=rid):
                return self.party.hand(invitation, Cancel(self.party, rid))
            case LeaveInvitation(invitation=invitation, role=role):
                return self.party.hand(invitation, PartyGone(role))
            case CloseSessionLink(code=code, reason=reason):
                if self.link is not None:
                    self.link.close(code, reason)
                self._use(None)
            case ForgetLink():
                self._use(None)
            case TakeLink():
                self._use(self.attaching)
            case TakenOver():
                if self.attaching is not None:
                    close_taken_over(self.attaching)
            case StartSessionTimer(timer=timer, delay=delay):
                self._timers.start(timer, delay, m.SessionTimerFired(timer))
            case CancelSessionTimer(timer=timer):
                self._timers.cancel(timer)
            case CancelAllTimers():
                self._timers.cancel_all()
            case SaveAttributes(attributes=attributes):
                self._node.attributes.put(self._app_id, user_id, attributes)
            case DeleteStored(store_ids=store_ids):
                self._offline.store.delete(self._app_id, user_id, list(store_ids))
            case Unwatch(user_ids=user_ids):
                self._node.presence.unwatch(me, self._app_id, list(user_ids))
            case LogEvent(event=event, fields=fields):
                actor.log.info(event, **fields)
            case Stop():
                actor.stop()
            case ChannelJoin(channel=channel, channel_id=channel_id, rid=rid):
                self.member.joined(channel_id)
                write = self.member.write
                channel.tell(chm.Join(me, user_id, rid, effect.epoch, effect.after, write))
            case ChannelLeave(channel=channel, channel_id=channel_id, rid=rid):
                self.member.left(channel_id)
                return tell_or_run_inline(channel, chm.Leave(me, user_id, rid))
            case PublishRequest(channel=channel, rid=rid, message=message, ts=ts):
                return tell_or_run_inline(channel, chm.Publish(me, user_id, rid, message, ts))
            case ChannelCatchUp(channel=channel, epoch=epoch, after=after):
                return tell_or_run_inline(channel, chm.CatchUpRequest(me, user_id, epoch, after))
            case MembersRequest(channel=channel, rid=rid):
                return tell_or_run_inline(channel, chm.ListMembers(me, user_id, rid))
            case WriteChannelAttributes(channel=channel):
                e = effect
                write_request = chm.WriteAttributes(
                    me, user_id, e.rid, e.op, e.attributes, e.keys, e.notify, e.ts
                )
                channel.tell(write_request)
            case ReadChannelAttributes(channel=channel, rid=rid, keys=keys):
                return tell_or_run_inline(channel, chm.ReadAttributes(me, rid, keys))
            case _:
                assert_never(effect)
        return True

    def _use(self, link: Link | None) -> None:
        self.link = link
        self.member.use(link)

    # -- questions --------------------------------------------------------------------

    def allow(self, what: str, now: float) -> bool:
        return self._node.rates.allow((self._app_id, self.user_id), what, now)

    def allow_join(self, channel_id: str, now: float) -> bool:
        return self._node.rates.allow_join((self._app_id, self.user_id), channel_id, now)

    def route(self, user_id: str) -> SessionRef | None:
        return self._node.routes.route((self._app_id, user_id))

    def backlog(self) -> int:
        return self._inbox_size()

    def silent_for(self) -> float:
        link = self.link
        return 0.0 if link is None else now() - link.last_rx

    def check_token(self, token: str) -> TokenCheck:
        return self._node.tokens.check(self._app_id, self.user_id, token)

    def set_presence(self, state: PeerOnlineState) -> bool:
        key = (self._app_id, self.user_id)
        return self._node.presence.set_state(key, state, self._actor.session_key)

    def unregister(self) -> bool:
        return self._node.directory.unregister((self._app_id, self.user_id), self._actor.actor_ref)

    def presence_states(self, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        return self._node.presence.states(self._app_id, user_ids)

    def watch(self, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        return self._node.presence.watch(self._actor.actor_ref, self._app_id, user_ids)

    def attributes(self, user_id: str) -> dict[str, str]:
        return self._node.attributes.get(self._app_id, user_id)

    def stored_messages(self, now_ms: int) -> Iterator[Deliver]:
        for s in self._offline.store.fetch(self._app_id, self.user_id, now_ms):
            yield stored_delivery(
                s.sender_id, s.message_id, s.kind, s.text, s.raw, s.ts, s.store_id
            )

    def channel(self, channel_id: str) -> SessionRef:
        return self._node.channels.get_or_start(self._app_id, channel_id)

    def live_channel(self, channel_id: str) -> SessionRef | None:
        return self._node.channels.get(self._app_id, channel_id)

    def channel_for_write(self, channel_id: str) -> SessionRef | None:
        return self._node.channels.start_for_write(self._app_id, channel_id)

    def channel_counts(self, channel_ids: list[str]) -> dict[str, int]:
        return self._node.channels.counts(self._app_id, channel_ids)

    def invitation(self, key: tuple[str, str, int]) -> SessionRef | None:
        # The desk answers ALREADY_END itself for an invitation it does not hold.
        ref: SessionRef = invitation_ref(self._ctx, key)
        return ref

    def start_invitation(
        self, invitation_id: int, callee_id: str, content: str, channel_id: str
    ) -> SessionRef:
        key = (self._app_id, self.user_id, invitation_id)
        party = self.party
        ref: SessionRef = start_invitation(self._ctx, key, party, callee_id, content, channel_id)
        return ref
