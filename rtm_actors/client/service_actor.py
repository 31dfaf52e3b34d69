"""``RtmServiceActor``: the client's requests in flight and the pushes it receives.

Requests are kept until answered, so a request sent while the link is down, or
whose answer was lost with the link, goes out again once the link is back (the
server drops re-sent duplicates by message id). Pushes are acknowledged to the
server and de-duplicated before the application sees them. When the server had to
start a fresh session (the client was away past the grace period), the actor
restores what the application had set up: subscriptions and local attributes.
What arrives after a ``login_ok`` is held until the supervisor has reported the login
(``LoginReported``), so the handler hears of the login before anything of its session.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, TypeVar

import pykka

from rtm_actors.client import messages as cm
from rtm_actors.client.calls import ClientInvitationActor, RemoteCallInvitation, RtmCallManager
from rtm_actors.client.channel import ClientChannelActor
from rtm_actors.client.channel_requests import (
    ChannelState,
    JoinRequest,
    LeaveRequest,
    MembershipRequest,
)
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.link import ClientLink
from rtm_actors.client.requests import (
    AttributeWriteRequest,
    ClientState,
    Request,
    SubscriptionRequest,
)
from rtm_actors.client.sdk_log import SdkLogger, default_logger
from rtm_actors.client.values import Message
from rtm_actors.protocol import codec
from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.codes import PeerOnlineState
from rtm_actors.protocol.flow import RecentIds
from rtm_actors.protocol.frames import (
    Ack,
    AttributesReply,
    CatchUp,
    ChannelAttributesReply,
    ChannelAttributesUpdated,
    ChannelMessage,
    CountsReply,
    Error,
    InvitationEvent,
    JoinChannel,
    JoinReply,
    Kick,
    LeaveChannel,
    LoginOk,
    MemberCount,
    MemberJoined,
    MemberLeft,
    MembersReply,
    PeerMessage,
    PeersReply,
    PresenceChanged,
    PresenceReply,
    Reply,
    SetLocalAttributes,
    Subscribe,
    TokenWillExpire,
)
from rtm_actors.protocol.push_order import PushCheck, PushOrder
from rtm_actors.runtime import GeventActor, NamedTimers, Ref, now, tell_or_run_inline

RequestT = TypeVar("RequestT", bound=Request)

#: Requests in flight are checked for their deadline when the earliest one is due, on
#: a coarse timer (up to 0.1 s late; every service's sweep of a slot from one loop
#: timer): deadlines are seconds away, and most requests are answered long before.
#: A sweep every 0.5 s while any was in flight (a loop timer each) was ~5% of a busy
#: client.
_REPLIES = (
    Reply,
    PresenceReply,
    PeersReply,
    AttributesReply,
    JoinReply,
    MembersReply,
    CountsReply,
    ChannelAttributesReply,
)
#: RFC 6455's close code for a protocol error: the link skipped push numbers.
_CLOSE_PROTOCOL_ERROR = 1002
#: Links running that lost the same push: then it is no passing fault (an error).
_PERSISTENT_GAP_LINKS = 3
_CHANNEL_PUSHES = (ChannelMessage, MemberJoined, MemberLeft, MemberCount, ChannelAttributesUpdated)


class RtmServiceActor(GeventActor):
    """One per ``RtmService``: requests in flight, received pushes, restoration."""

    shutdown_tier = 10
    #: Taken in the teller's greenlet while idle (``runtime.actor``): the reader's
    #: frames, the link's end and coming up, the facade's requests and its set-up, a
    #: greenlet switch and wake-up less each (a login then wakes no greenlet). Each
    #: only sends on the link (which never blocks) and tells other actors: the
    #: application's callbacks stay on the dispatcher's greenlet.
    inline_messages = frozenset(
        {cm.ServerFrames, cm.ClientLinkClosed, cm.LoginReported, cm.LinkUp, cm.SetSupervisor}
    )
    inline_bases = (Request,)

    def __init__(
        self,
        handler: Any,
        dispatcher: Ref[cm.DispatcherMessage],
        config: ClientConfig,
        rids: Iterator[int],
        logger: Any = None,
    ) -> None:
        super().__init__()
        #: The service's own logger (its log file and filter), else the process's.
        self._log: SdkLogger = logger if logger is not None else default_logger()
        self.supervisor_ref: Ref[cm.ConnectionSupervisorMessage] | None = None
        self._handler = handler
        self._dispatcher = dispatcher
        self._config = config
        self._rids = rids
        self._link: ClientLink | None = None
        self._pending: dict[int, Request] = {}
        self._channels: dict[str, ChannelState] = {}
        self._call_manager: RtmCallManager | None = None
        #: The call manager's handler (``CallHandlerSet``): invitations report to it.
        self._call_handler: Any = None
        self._invitations: RecentIds[pykka.ActorRef[ClientInvitationActor]] = RecentIds(4096)
        #: Invitations that arrived before the app made its call manager.
        self._early_invitations: list[InvitationEvent] = []
        #: After a resumed login: each joined channel's (epoch, cseq) as the old link
        #: left it, to ask for what followed once the link is up.
        self._catch_up_from: list[tuple[str, str, int]] = []
        self._state = ClientState()
        self._had_session = False
        self._seen: RecentIds[bool] = RecentIds(config.dedup_window)
        self._ack_link: ClientLink | None = None
        self._ack_due = 0
        self._acked = 0
        #: The numbered pushes had in this server session: in order, none skipped.
        self._pushes = PushOrder()
        #: A link that skipped push numbers: closed, and nothing more of it is taken.
        self._dropped_link: ClientLink | None = None
        #: Frames that came after a login_ok, held until the supervisor has reported the
        #: login to the handler (Agora: nothing of a session precedes on_login_success).
        #: None when not holding, so the hot path pays one identity check.
        self._held: list[cm.FrameFromServer | cm.ClientLinkClosed] | None = None
        self._timers: NamedTimers[cm.SweepTimeouts] = NamedTimers(self.actor_ref)
        #: When the sweep timer fires (infinity: not running).
        self._sweep_at = math.inf

    def on_receive(self, message: Any) -> None:
        match message:
            case cm.ServerFrames(link=link, frames=frames):
                for frame in frames:
                    if self._held is None:
                        self._on_frame(link, frame)
                    else:  # a login_ok came: hold what follows it until it is reported
                        self._held.append(cm.FrameFromServer(link, frame))
            case cm.LoginReported():
                self._release_held()
            case cm.ClientLinkClosed():
                if self._held is not None:
                    self._held.append(message)  # the end of a link comes after its frames
                elif self.supervisor_ref is not None:
                    tell_or_run_inline(self.supervisor_ref, message)
            case MembershipRequest():
                code = message.admit(self._channels)
                if code is None:
                    self._send(message)
                else:
                    message.refuse(code, self._notifier(message))
            case Request():
                self._send(message)
            case cm.LinkUp(link=up):
                self._link = up
                self._dropped_link = None
                for pending in self._pending.values():
                    up.send(pending.frame)
                if self._catch_up_from:
                    self._catch_up(up)
            case cm.CallManagerSet(manager=manager):
                self._call_manager = manager
                early, self._early_invitations = self._early_invitations, []
                for event in early:
                    self._on_invitation_event(event)
            case cm.CallHandlerSet(handler=handler):
                self._call_handler = handler
                for actor in self._invitations.values():
                    tell_or_run_inline(actor, message)
            case cm.TrackInvitation(key=key, actor=actor):
                self._invitations.put(key, actor)
                # The handler may have changed between the actor's start and now.
                tell_or_run_inline(actor, cm.CallHandlerSet(self._call_handler))
            case cm.ChannelCreated(channel_id=channel_id, handler=handler, actor=actor):
                self._channels[channel_id] = ChannelState(channel_id, handler, actor)
            case cm.ChannelReleased(channel_id=channel_id, actor=actor):
                self._channel_released(channel_id, actor)
            case cm.HoldRequests():
                self._link = None
            case cm.SessionEnded():
                self._session_ended()
            case cm.SweepTimeouts():
                self._sweep()
            case cm.SetSupervisor(ref=ref):
                self.supervisor_ref = ref
            case cm.Reconfigure(config=config):
                self._config = config
        if self._ack_due > self._acked and self.actor_inbox.empty():
            # Acknowledge once per burst of pushes, not once per push.
            ack_link = self._ack_link
            if ack_link is not None and ack_link.send(codec.encode(Ack(self._ack_due))):
                self._acked = self._ack_due

    # -- requests ----------------------------------------------------------------

    def _send(self, request: Request) -> None:
        if self._log.enabled("debug"):
            self._log.debug("request_sent", **_request_fields(request))
        self._pending[request.rid] = request
        if self._link is not None:
            self._link.send(request.frame)
        self._sweep_by(request.deadline)

    def _sweep_by(self, deadline: float) -> None:
        """Have the sweep run by ``deadline`` (sooner than planned, if need be)."""
        if deadline >= self._sweep_at:
            return
        self._sweep_at = deadline
        self._timers.start("sweep", max(0.0, deadline - now()), cm.SweepTimeouts(), coarse=True)

    def _sweep(self) -> None:
        t = now()
        for rid in [rid for rid, r in self._pending.items() if r.deadline <= t]:
            request = self._pending.pop(rid)
            self._log.warning("request_timed_out", **_request_fields(request))
            request.expire(self._notifier(request))
        self._sweep_at = math.inf
        if self._pending:
            self._sweep_by(min(r.deadline for r in self._pending.values()))

    def _session_ended(self) -> None:
        self._link = None
        pending, self._pending = self._pending, {}
        if pending:
            self._log.info("requests_abandoned", count=len(pending))
        for request in pending.values():
            request.abandon(self._notifier(request))
        self._state.clear()
        for channel in self._channels.values():
            channel.joined = channel.joining = False
        self._invitations_lost()
        self._had_session = False
        self._ack_link = None
        self._ack_due = self._acked = 0
        self._pushes.reset()

    def _restore(self) -> None:
        """A fresh server session after a long absence: set up what the app had, first.

        Invitations cannot be restored: the server ended them with the old session.
        """
        self._invitations_lost()
        restore: list[Request] = []
        state = self._state
        if state.subscribed:
            peers = tuple(state.subscribed)
            restore.append(
                self._new_request(
                    SubscriptionRequest, lambda rid: Subscribe(rid, list(peers)), peer_ids=peers
                )
            )
        if state.local_attributes:
            attrs = dict(state.local_attributes)
            restore.append(
                self._new_request(
                    AttributeWriteRequest,
                    lambda rid: SetLocalAttributes(rid, attrs),
                    op=AttributeOp.SET,
                    attributes=attrs,
                )
            )
        restore.extend(
            self._new_request(
                JoinRequest,
                lambda rid, c=channel: JoinChannel(rid, c.channel_id, c.epoch, c.cseq),
                handler=channel.handler,
                channel_id=channel.channel_id,
                channel=channel,
            )
            for channel in self._channels.values()
            if channel.joined
        )
        if restore:
            self._log.info("session_restoring", requests=len(restore))
            # Restoration goes out before anything the app asked for meanwhile.
            self._pending = {r.rid: r for r in restore} | self._pending
            self._sweep_by(min(r.deadline for r in restore))

    def _new_request(
        self, kind: type[RequestT], make_frame: Any, *, internal: bool = True, **fields: Any
    ) -> RequestT:
        """A request the actor makes itself: the SDK's own (no application callback),
        or, with ``internal`` False, one that stands for the application's."""
        rid = next(self._rids)
        deadline = now() + self._config.request_timeout
        frame = codec.encode(make_frame(rid))
        return kind(rid, frame, RtmFuture(rid), deadline, internal=internal, **fields)

    def _channel_released(self, channel_id: str, actor: pykka.ActorRef[ClientChannelActor]) -> None:
        actor.stop(block=False)
        channel = self._channels.get(channel_id)
        if channel is None or channel.actor is not actor:
            return  # a newer channel object of that id has it now
        if channel.joined:
            # Agora: releasing a joined channel leaves it (on_leave follows).
            leave = self._new_request(
                LeaveRequest,
                lambda rid: LeaveChannel(rid, channel_id),
                internal=False,
                handler=channel.handler,
                channel_id=channel_id,
            )
            if leave.admit(self._channels) is None:
                self._send(leave)
        del self._channels[channel_id]

    # -- frames from the server --------------------------------------------------

    def _on_frame(self, link: ClientLink, frame: Any) -> None:
        if link is self._dropped_link:
            return
        seq = getattr(frame, "seq", 0)
        if seq:
            check = self._pushes.check(seq)
            if check is not PushCheck.NEXT:
                self._out_of_turn(link, seq, check)
                return
        match frame:
            case PeerMessage(seq=seq, peer_id=peer_id, message=wire, ts=ts, offline=offline):
                key = (peer_id, wire.id)
                if key not in self._seen:
                    self._seen.put(key, True)
                    if self._log.enabled("debug"):
                        self._log.debug("peer_message_in", peer_id=peer_id, message_id=wire.id)
                    message = Message.from_wire(wire, ts, offline=offline)
                    self._callback("on_message_received_from_peer", peer_id, message)
                self._note_push(link, seq)
            case PresenceChanged(seq=seq, states=states):
                self._on_presence(states)
                self._note_push(link, seq)
            case InvitationEvent(seq=seq):
                self._on_invitation_event(frame)
                self._note_push(link, seq)
            case _ if isinstance(frame, _CHANNEL_PUSHES):
                channel = self._channels.get(frame.channel_id)
                if self._log.enabled("debug"):
                    kind = type(frame).__name__
                    self._log.debug("channel_event", channel_id=frame.channel_id, kind=kind)
                if channel is not None and channel.admits(frame):
                    tell_or_run_inline(channel.actor, frame)
                seq = getattr(frame, "seq", 0)
                if seq:
                    self._note_push(link, seq)
            case _ if isinstance(frame, _REPLIES) and frame.rid != 0:
                request = self._pending.pop(frame.rid, None)
                if request is not None:
                    if frame.code:
                        fields = _request_fields(request)
                        self._log.info("request_answered", code=frame.code, **fields)
                    elif self._log.enabled("debug"):
                        self._log.debug("request_answered", code=0, **_request_fields(request))
                    request.settle(frame, self._state, self._notifier(request))
            case LoginOk(resumed=resumed):
                # The cursors now, before any message of the new link moves them: a
                # newer live message must not hide the ones the old link lost.
                self._catch_up_from = self._cursors() if resumed else []
                if not resumed:
                    # A fresh server session numbers its pushes from 1 again.
                    self._ack_due = self._acked = 0
                    self._pushes.reset()
                    if self._had_session:
                        self._restore()
                self._had_session = True
                self._ack_link = link
                self._forward(link, frame)
                self._held = []
            case Reply() | Kick():
                self._forward(link, frame)
            case TokenWillExpire():
                self._callback("on_token_privilege_will_expire")
            case Error(rid=rid, detail=detail):
                self._log.warning("server_error", detail=detail, request_id=rid)
            case _:
                pass  # Pong: the link already noted the traffic

    def _out_of_turn(self, link: ClientLink, seq: int, check: PushCheck) -> None:
        """A push that is not the next one: a repeat, or a gap the link made."""
        if check is PushCheck.REPEAT:
            # Sent again after a resume, and handled already: acknowledge it again only.
            # The server sends again only what it holds unacknowledged, so our ack for
            # it was lost with the old link: send one again even if it went out.
            self._note_push(link, seq)
            self._acked = min(self._acked, seq - 1)
            return
        # Acknowledging this push would acknowledge the missing ones too, and their
        # senders would be told "delivered": drop the link, resume, have them again.
        links = self._pushes.same_gap
        level = self._log.error if links >= _PERSISTENT_GAP_LINKS else self._log.warning
        level("push_gap", expected=self._pushes.last + 1, got=seq, links=links)
        if self.supervisor_ref is not None:
            # Before the close, so the supervisor's resume waits longer each time.
            tell_or_run_inline(self.supervisor_ref, cm.LinkStuck(links))
        self._dropped_link = link
        link.close(_CLOSE_PROTOCOL_ERROR)

    def _release_held(self) -> None:
        held, self._held = self._held, None
        for message in held or ():
            if self._held is not None:  # a second login_ok among them: hold behind it
                self._held.append(message)
            elif isinstance(message, cm.FrameFromServer):
                self._on_frame(message.link, message.frame)
            elif self.supervisor_ref is not None:
                tell_or_run_inline(self.supervisor_ref, message)

    def _cursors(self) -> list[tuple[str, str, int]]:
        return [
            (c.channel_id, c.epoch, c.cseq) for c in self._channels.values() if c.joined and c.epoch
        ]

    def _catch_up(self, link: ClientLink) -> None:
        """After a resumed link: ask each joined channel for what the link lost."""
        cursors, self._catch_up_from = self._catch_up_from, []
        for channel_id, epoch, cseq in cursors:
            link.send(codec.encode(CatchUp(channel_id, epoch, cseq)))

    def _notifier(self, request: Request) -> Any:
        handler = request.handler or self._handler

        def notify(method: str, *args: Any) -> None:
            tell_or_run_inline(self._dispatcher, cm.Callback(handler, method, args))

        return notify

    def _on_invitation_event(self, event: InvitationEvent) -> None:
        if event.role == "caller":
            key: cm.InvitationRoute = ("caller", event.invitation_id)
        else:
            key = ("callee", event.caller_id, event.invitation_id)
        actor = self._invitations.get(key)
        if actor is None and event.role == "callee" and self._call_manager is None:
            if len(self._early_invitations) < 256:
                self._early_invitations.append(event)
            return
        if actor is None and event.event == "received":
            actor = ClientInvitationActor.start(
                RemoteCallInvitation(event), self._call_handler, self._dispatcher
            )
            self._invitations.put(key, actor)
        if actor is not None:
            tell_or_run_inline(actor, event)

    def _invitations_lost(self) -> None:
        for actor in self._invitations.values():
            tell_or_run_inline(actor, cm.InvitationSessionLost())
        self._invitations = RecentIds(4096)
        self._early_invitations.clear()  # the server ended them with the session

    def _note_push(self, link: ClientLink, seq: int) -> None:
        self._ack_link = link
        self._ack_due = max(self._ack_due, seq)

    def _on_presence(self, states: dict[str, int]) -> None:
        subscribed = self._state.subscribed
        changed: dict[str, PeerOnlineState] = {}
        for peer, value in states.items():
            if peer in subscribed and subscribed[peer] != value:
                changed[peer] = subscribed[peer] = PeerOnlineState(value)
        if changed:
            self._callback("on_peers_online_status_changed", changed)

    def _forward(self, link: ClientLink, frame: Any) -> None:
        if self.supervisor_ref is not None:
            tell_or_run_inline(self.supervisor_ref, cm.FrameFromServer(link, frame))

    def _callback(self, method: str, *args: Any) -> None:
        tell_or_run_inline(self._dispatcher, cm.Callback(self._handler, method, args))

    def on_stop(self) -> None:
        self._timers.cancel_all()


def _request_fields(request: Request) -> dict[str, Any]:
    """A request's log fields: its id, what it is, and its channel if it has one."""
    fields: dict[str, Any] = {"request_id": request.rid, "what": request.what}
    channel_id = getattr(request, "channel_id", "")
    if channel_id:
        fields["channel_id"] = channel_id
    return fields


def new_rid_counter() -> Iterator[int]:
    """Request ids shared by the facade and the actor (0 is the login's)."""
    return itertools.count(1)
