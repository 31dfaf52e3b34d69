"""``SessionActor``: the peer session, one per logged-in user on this node.

It owns the user's websocket (``Link``) and everything that must survive a dropped
link for the grace period: pushes not yet acknowledged (``DeliveryWindow``), the
results of the user's own sends (to answer re-sent duplicates), the rate limit.

A peer message goes sender session -> ``Deliver`` -> receiver session -> client ->
``Ack`` -> receiver session -> ``Delivered`` -> sender session -> ``Reply(OK)``, so
``OK`` means the receiver's SDK has it, as in Agora. Nothing accepted is dropped: a
push the client never acknowledged goes to the next session of that user, or to the
offline store if the sender asked for it, or back to the sender as unreachable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import (
    ConnectionChangeReason,
    DisconnectCode,
    LoginErrCode,
    LogoutErrCode,
    MessageType,
    PeerMessageErrCode,
    PeerOnlineState,
    RenewTokenErrCode,
)
from rtm_actors.protocol.flow import DeliveryWindow, RecentIds
from rtm_actors.protocol.frames import (
    Ack,
    ChannelMessage,
    Error,
    Kick,
    Login,
    LoginOk,
    Logout,
    PeerMessage,
    Ping,
    Pong,
    PresenceChanged,
    RenewToken,
    Reply,
    SendPeerMessage,
    TokenWillExpire,
    WireMessage,
)
from rtm_actors.protocol.limits import is_valid_message, is_valid_user_id, message_size
from rtm_actors.protocol.tokens import TokenCheck
from rtm_actors.runtime import GeventActor, NamedTimers, now, tell_or_run_inline
from rtm_actors.server import channel_messages as chm, messages as m, wsio
from rtm_actors.server.context import ServerContext, check_token, now_ms
from rtm_actors.server.invitation_actor import (
    Acknowledged,
    Involve,
    PushInvitation,
    Uninvolve,
)
from rtm_actors.server.link import Link, Outlet, close_taken_over, link_last_rx
from rtm_actors.server.metrics import RequestClock
from rtm_actors.server.session_channels import CHANNEL_FRAMES, ChannelRequests
from rtm_actors.server.session_invitations import INVITATION_FRAMES, InvitationRequests
from rtm_actors.server.session_presence import (
    ATTRIBUTE_FRAMES,
    PRESENCE_FRAMES,
    PresenceAndAttributes,
)
from rtm_actors.server.user_rates import MESSAGES
from rtm_actors.store.base import StoredMessage, accepts_offline

log = structlog.get_logger("rtm_actors.server.session")

_RENEW_CODES = {
    LoginErrCode.OK: RenewTokenErrCode.OK,
    LoginErrCode.TOKEN_EXPIRED: RenewTokenErrCode.TOKEN_EXPIRED,
    LoginErrCode.INVALID_TOKEN: RenewTokenErrCode.INVALID_TOKEN,
    LoginErrCode.INVALID_APP_ID: RenewTokenErrCode.INVALID_TOKEN,
}

_KICK_CLOSE = {
    ConnectionChangeReason.REMOTE_LOGIN: DisconnectCode.REMOTE_LOGIN,
    ConnectionChangeReason.BANNED_BY_SERVER: DisconnectCode.BANNED,
    ConnectionChangeReason.TOKEN_EXPIRED: DisconnectCode.TOKEN_EXPIRED,
}
_VALID_KINDS = (MessageType.TEXT, MessageType.RAW)
#: Outcomes a re-sent copy is answered with again: the message went somewhere. A
#: message that was neither delivered nor kept may be tried again by a retry.
_FINAL_OUTCOMES = frozenset({PeerMessageErrCode.OK, PeerMessageErrCode.CACHED_BY_SERVER})


@dataclass(frozen=True, slots=True)
class PresencePush:
    """Watched users' new states, waiting in the delivery window like a message."""

    states: dict[str, int]


@dataclass(frozen=True, slots=True)
class InvitationPush:
    """An invitation event in the delivery window; its acknowledgement goes to ``actor``."""

    frame: Any
    role: str
    actor: Any


@dataclass(frozen=True, slots=True)
class EventPush:
    """A channel event (member joined/left, attributes updated) in the delivery window."""

    frame: Any


Push = m.Deliver | PresencePush | EventPush | InvitationPush


class SessionActor(GeventActor, PresenceAndAttributes, ChannelRequests, InvitationRequests):
    """The server side of one logged-in user."""

    shutdown_tier = 0
    #: The login and the peer-message path (frames in, deliveries, receipts) run in
    #: the teller's greenlet while the session is idle: a message is handled by the
    #: sender's and the receiver's gateway greenlets with no switch into a session's
    #: own, which starts only once something has to wait.
    inline_messages = frozenset({m.Attach, m.FrameIn, m.Deliver, m.Delivered, m.PingIn, m.BadFrame})

    def __init__(self, ctx: ServerContext, app_id: str, user_id: str, session_key: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.app_id = app_id
        self.user_id = user_id
        self.key = (app_id, user_id)
        self.session_key = session_key
        #: The current link and channels, where channels write their messages directly.
        self.outlet = Outlet(ctx.metrics, self.actor_inbox)
        self.ended = False
        self._window: DeliveryWindow[Push] = DeliveryWindow()
        #: Message bytes in the window (``max_unacked_bytes``): 2,000 pushes of 32 KB
        #: held for a client that never acknowledges would be ~64 MB for one user.
        self._window_bytes = 0
        self._stored_in_flight: set[int] = set()
        # (receiver id, message id) -> (rid, ts): sent, waiting for the receipt.
        self._awaiting_receipt: dict[tuple[str, int], tuple[int, int]] = {}
        # (receiver id, message id) -> (code, ts): settled, to answer re-sent copies.
        self._results: RecentIds[tuple[int, int]] = RecentIds(ctx.config.dedup_window)
        self._timers = NamedTimers(self.actor_ref)
        self._started = now()
        self._sent = 0
        self._received = 0
        #: Websockets this session has had (1 + reconnects that resumed it).
        self._links = 0
        self._peer = ""
        self._clock = RequestClock(ctx.metrics)
        self._token_expires_at: int | None = None
        self._init_presence()
        self._init_channels()
        self.outlet.channels = self.channels
        self._init_invitations()

    @property
    def _log(self) -> Any:
        # Bound when used (a session logs a few events in its life): a bound logger
        # kept per session would cost every idle user ~0.5 KB.
        return log.bind(app_id=self.app_id, user_id=self.user_id, session=self.session_key[:8])

    @property
    def link(self) -> Link | None:
        """The user's websocket, if it has one now."""
        return self.outlet.link

    @link.setter
    def link(self, link: Link | None) -> None:
        self.outlet.link = link

    def _allow(self, what: str) -> bool:
        """Count one call of ``what`` against the user's limit (it outlives sessions)."""
        return self.ctx.rates.allow(self.key, what, now())

    # -- dispatch ------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        match message:
            case m.FrameIn(link_id=link_id, frame=frame, received_at=received_at):
                link = self.outlet.link
                if link is not None and link_id == link.id:
                    self._clock.received(frame, received_at)
                    self._on_frame(frame)
            case m.Deliver():
                self._on_deliver(message)
            case m.Delivered(receiver_id=receiver_id, message_id=message_id, code=code):
                self._on_delivered((receiver_id, message_id), code)
            case m.Attach(link=link, rid=rid, resumed=resumed, token=token, started=started):
                attached = self._on_attach(link, rid, resumed=resumed, token=token)
                if attached and started is not None:
                    self.ctx.metrics.observe("login", time.perf_counter() - started)
                return attached
            case m.TokenTimer(what="warn"):
                self._send(TokenWillExpire(self._token_expires_at or 0))
            case m.TokenTimer(what="expired"):
                self._on_kick(ConnectionChangeReason.TOKEN_EXPIRED, None)
            case m.LinkClosed(link_id=link_id, why=why):
                self._on_link_closed(link_id, why)
            case m.BadFrame(link_id=link_id, detail=detail):
                self._on_bad_frame(link_id, detail)
            case m.PingIn(link_id=link_id, payload=payload):
                if self.link is not None and link_id == self.link.id:
                    self.link.send_frame(wsio.frame(payload, wsio.OP_PONG))
            case chm.SendBytes(channel_id=channel_id, data=data):
                if self.link is not None and channel_id in self.channels:
                    self._send_channel_bytes(data)
            case chm.SendFrame(frame=frame):
                self._send(frame)
            case chm.SendEvent(frame=frame):
                if frame.channel_id in self.channels:
                    self._push_reliably(EventPush(frame))
            case PushInvitation(frame=frame, role=role, actor=actor):
                self._push_reliably(InvitationPush(frame, role, actor))
            case Involve(actor=actor, role=role, key=key):
                self.invitations[key] = (actor, role)
            case Uninvolve(key=key):
                self._invitation_ended(key)
            case m.PresenceUpdate(user_id=user_id, state=state):
                self._on_presence_update(user_id, state)
            case m.UnreachableTimer():
                if self.link is None:
                    self._set_own_presence(PeerOnlineState.UNREACHABLE)
            case m.GraceExpired():
                if self.link is None:
                    self._end("grace_expired")
            case m.KickSession(reason=reason, successor=successor):
                self._on_kick(reason, successor)
            case m.Shutdown():
                self._close_link(DisconnectCode.SHUTDOWN, "server shutting down")
                self._end("shutdown")
            case _:
                self._log.warning("unknown_message", message=type(message).__name__)
        return None

    def _on_frame(self, frame: Any) -> None:
        match frame:
            case SendPeerMessage():
                self._on_send_peer(frame)
            case Ack(seq=seq):
                self._on_ack(seq)
            case Ping(ts=ts):
                self._send(Pong(ts))
            case Logout(rid=rid):
                self._send(Reply(rid, LogoutErrCode.OK))
                self._close_link(DisconnectCode.LOGGED_OUT, "logged out")
                self._end("logout")
            case Login(rid=rid):
                self._send(Reply(rid, LoginErrCode.ALREADY_LOGGED_IN))
            case RenewToken(rid=rid, token=token):
                self._renew(rid, token)
            case _ if isinstance(frame, PRESENCE_FRAMES):
                self._on_presence_frame(frame)
            case _ if isinstance(frame, ATTRIBUTE_FRAMES):
                self._on_attribute_frame(frame)
            case _ if isinstance(frame, CHANNEL_FRAMES):
                self._on_channel_frame(frame)
            case _ if isinstance(frame, INVITATION_FRAMES):
                self._on_invitation_frame(frame)

    # -- link lifecycle ------------------------------------------------------

    def _on_attach(
        self, link: Link, rid: int, *, resumed: bool, token: TokenCheck | None = None
    ) -> bool:
        if self.ended:
            if not resumed:
                # A newer login of the user (on another node) took over while this
                # one was being claimed: this one is told so, as it would be later.
                close_taken_over(link)
            return False
        if self.link is not None:
            self.link.close(DisconnectCode.SHUTDOWN, "replaced by a newer link")
            self.link = None
        if token is not None:
            # Before the log line below, which reports the expiry.
            self._set_token(token)
        self._timers.cancel("grace")
        self._timers.cancel("unreachable")
        if not resumed:
            # A fresh login starts with no attributes, whatever an older session left.
            self.ctx.attributes.put(self.app_id, self.user_id, {})
        self._set_own_presence(PeerOnlineState.ONLINE)
        # The link goes to the outlet only now: while the calls above wait on Redis, a
        # channel would write its messages straight to it, ahead of login_ok, and a
        # client taking them would ask to catch up from past what its old link lost.
        self.link = link
        self._send(
            LoginOk(
                rid,
                self.session_key,
                now_ms(),
                resumed=resumed,
                heartbeat_s=self.ctx.config.heartbeat_interval,
            )
        )
        for unacked in self._window.pending():
            self._push(unacked.seq, unacked.item)
        if self._missed_presence:
            # Changes missed while the link was down arrive as one push.
            missed, self._missed_presence = self._missed_presence, {}
            self._push_presence(missed)
        self._load_offline()
        self._links += 1
        self._peer = link.peer
        self._log.info(
            "session_attached",
            resumed=resumed,
            peer=link.peer,
            links=self._links,
            unacked=len(self._window),
            token_expires_at=self._token_expires_at,
        )
        return True

    # -- tokens --------------------------------------------------------------

    def _set_token(self, token: TokenCheck) -> None:
        """Make the session's expiry the token's, whatever its format (a renewal with
        a 006 token must not lift a 007 expiry): AccessToken2 sessions end when it
        expires (Agora 1.5); a 006 token's at its login privilege's expiry, none if 0."""
        expires_at = token.session_expires_at
        self._token_expires_at = expires_at
        self._timers.cancel("token_warn")
        self._timers.cancel("token_expired")
        if expires_at is None:
            return
        left = expires_at - time.time()
        warn_in = left - self.ctx.config.token_warning
        if warn_in > 0:
            self._timers.start("token_warn", warn_in, m.TokenTimer("warn"))
        self._timers.start("token_expired", max(0.0, left), m.TokenTimer("expired"))

    def _renew(self, rid: int, token: str) -> None:
        if not self._allow("renew"):
            self._send(Reply(rid, RenewTokenErrCode.TOO_OFTEN))
            return
        check = check_token(self.ctx, self.app_id, self.user_id, token)
        code = _RENEW_CODES.get(check.code, RenewTokenErrCode.INVALID_TOKEN)
        if code is RenewTokenErrCode.OK:
            self._set_token(check)
        self._send(Reply(rid, code))

    def _on_link_closed(self, link_id: int, why: str) -> None:
        if self.link is not None and link_id == self.link.id:
            self._link_lost(self.link, why)

    def _cut_off_slow(self, link: Link) -> None:
        """Close the link of a client that does not keep up; it may resume and catch up."""
        link.close(DisconnectCode.SLOW_CONSUMER, "not reading fast enough")
        self._link_lost(link, "slow consumer")

    def _link_lost(self, link: Link, why: str) -> None:
        """The one place a link ends while the session lives: the grace period and the
        slow-consumer count start here, once per link, never again until a new one."""
        if why == "slow consumer":
            self.ctx.stats.slow_consumers += 1
        self.link = None
        self._start_absence_timers(now() - link_last_rx(link))
        # The label is the reason without its detail ("socket error: ...").
        self.ctx.metrics.links_lost[why.split(":", 1)[0]] += 1
        self._log.info("link_lost", why=why, unacked=len(self._window))

    def _start_absence_timers(self, silent_for: float) -> None:
        cfg = self.ctx.config
        self._timers.start("grace", cfg.grace_period, m.GraceExpired())
        unreachable_in = max(0.0, cfg.unreachable_after - silent_for)
        self._timers.start("unreachable", unreachable_in, m.UnreachableTimer())

    def _close_link(self, code: DisconnectCode, reason: str) -> None:
        if self.link is not None:
            self.link.close(code, reason)
            self.link = None

    def _on_bad_frame(self, link_id: int, detail: str) -> None:
        if self.link is not None and link_id == self.link.id:
            self.ctx.stats.protocol_errors += 1
            self._send(Error(DisconnectCode.PROTOCOL_ERROR, detail))

    def _on_kick(self, reason: ConnectionChangeReason, successor: Any) -> None:
        if self.ended:
            return
        self._send(Kick(reason))
        self._close_link(_KICK_CLOSE.get(reason, DisconnectCode.BANNED), reason.name)
        self._end(reason.name.lower(), successor)

    def _end(self, why: str, successor: Any = None) -> None:
        """Leave routing, hand over or settle every unacknowledged push, stop."""
        if self.ended:
            return
        self.ended = True
        channels = len(self.channels)
        self._timers.cancel_all()
        self._stop_watching()
        self._leave_all_channels()
        self._leave_all_invitations()
        if self.ctx.directory.unregister(self.key, self.actor_ref) and self._set_own_presence(
            PeerOnlineState.OFFLINE
        ):
            # Only the user's current session speaks for it (not one replaced by a
            # newer login of the same user, here or on another node).
            self.ctx.attributes.put(self.app_id, self.user_id, {})
        unacked = 0
        self._window_bytes = 0
        for push in self._window.drain():
            unacked += 1
            if isinstance(push, m.Deliver):
                self._bounce(push, successor)
        self.ctx.metrics.sessions_ended[why] += 1
        self._log.info(
            "session_ended",
            why=why,
            seconds=round(now() - self._started, 3),
            sent=self._sent,
            received=self._received,
            links=self._links,
            channels=channels,
            unacked=unacked,
            peer=self._peer,
        )
        self.stop()

    # -- sending -------------------------------------------------------------

    def _on_send_peer(self, frame: SendPeerMessage) -> None:
        msg = frame.message
        rid = frame.rid
        if not is_valid_user_id(frame.peer_id):
            return self._reply(rid, PeerMessageErrCode.INVALID_USERID)
        if msg.kind not in _VALID_KINDS or not is_valid_message(msg.text, msg.raw):
            return self._reply(rid, PeerMessageErrCode.INVALID_MESSAGE)
        key = (frame.peer_id, msg.id)
        if key in self._awaiting_receipt:
            # Re-sent after a reconnect while the first copy is still on its way.
            self._awaiting_receipt[key] = (rid, self._awaiting_receipt[key][1])
            return None
        earlier = self._results.get(key)
        if earlier is not None:
            return self._reply(rid, PeerMessageErrCode(earlier[0]), earlier[1])
        if not self._allow(MESSAGES):
            return self._reply(rid, PeerMessageErrCode.TOO_OFTEN)
        self._sent += 1
        self.ctx.stats.peer_messages += 1
        ts = now_ms()
        delivery = m.Deliver(self.actor_ref, self.user_id, msg, ts, frame.offline)
        peer = self.ctx.route((self.app_id, frame.peer_id))
        if peer is not None and tell_or_run_inline(peer, delivery):
            self._awaiting_receipt[key] = (rid, ts)
            return None
        return self._finish(
            key, rid, ts, store_or_unreachable(self.ctx, self.app_id, frame.peer_id, delivery)
        )

    def _on_delivered(self, key: tuple[str, int], code: PeerMessageErrCode) -> None:
        waiting = self._awaiting_receipt.pop(key, None)
        if waiting is not None:
            self._finish(key, waiting[0], waiting[1], code)

    def _finish(self, key: tuple[str, int], rid: int, ts: int, code: PeerMessageErrCode) -> None:
        if code in _FINAL_OUTCOMES:
            self._results.put(key, (int(code), ts))
        self._reply(rid, code, ts)

    def _reply(self, rid: int, code: PeerMessageErrCode, ts: int = 0) -> None:
        self._send(Reply(rid, code, ts))

    # -- receiving -----------------------------------------------------------

    def _on_deliver(self, delivery: m.Deliver) -> None:
        if self.ended:
            return self._bounce(delivery, None)
        cfg = self.ctx.config
        size = held_size(delivery.message)
        if (
            len(self._window) >= cfg.max_unacked
            or self._window_bytes + size > cfg.max_unacked_bytes
            or self._backlog() > cfg.max_backlog
        ):
            # A client that does not keep up is cut off (once: later arrivals find its
            # link gone); it may resume within the grace period and catch up.
            if self.link is not None:
                self._cut_off_slow(self.link)
            return self._refuse(delivery)
        if delivery.store_id is not None:
            self._stored_in_flight.add(delivery.store_id)
        self._window_bytes += size
        self._push(self._window.push(delivery), delivery)
        return None

    def _send_channel_bytes(self, data: bytes) -> None:
        assert self.link is not None
        if self._backlog() > self.ctx.config.max_backlog:
            # This member does not keep up: cut it off, not the channel. It resumes
            # and catches up on what the channel still keeps.
            self._cut_off_slow(self.link)
            return
        metrics = self.ctx.metrics
        metrics.frames_out[ChannelMessage] += 1
        metrics.channel_deliveries += 1
        self.link.send_frame(data)

    def _backlog(self) -> int:
        inbox: Any = self.actor_inbox  # a GeventInbox
        return int(inbox.qsize())

    def _push(self, seq: int, push: Push) -> None:
        if isinstance(push, PresencePush):
            self._send(PresenceChanged(seq, push.states))
        elif isinstance(push, EventPush | InvitationPush):
            self._send(msgspec.structs.replace(push.frame, seq=seq))
        else:
            offline = push.store_id is not None
            self._send(PeerMessage(seq, push.sender_id, push.message, push.ts, offline=offline))

    def _push_presence(self, states: dict[str, int]) -> None:
        self._push_reliably(PresencePush(states))

    def _push_reliably(self, push: Push) -> None:
        """Number the push, keep it until acknowledged, and send it if the link is up.

        Past ``max_unacked`` the push is not kept and a connected client is cut off
        as slow: a client that never acknowledges made the session keep every
        invitation and presence push it was sent.
        """
        if len(self._window) >= self.ctx.config.max_unacked:
            if self.link is not None:
                self._cut_off_slow(self.link)
            return
        self._push(self._window.push(push), push)

    def _on_presence_update(self, user_id: str, state: PeerOnlineState) -> None:
        if user_id not in self.watching:
            return
        if self.link is None:
            self._missed_presence[user_id] = int(state)
        else:
            self._push_presence({user_id: int(state)})

    def _on_ack(self, seq: int) -> None:
        stored: list[int] = []
        for d in self._window.ack(seq):
            if isinstance(d, InvitationPush):
                tell_or_run_inline(d.actor, Acknowledged(d.role, d.frame.event))
            if not isinstance(d, m.Deliver):
                continue
            self._window_bytes -= held_size(d.message)
            self._received += 1
            self.ctx.stats.deliveries += 1
            if d.store_id is not None:
                stored.append(d.store_id)
                self._stored_in_flight.discard(d.store_id)
                release_offline_quota(self.ctx, self.app_id, d)
            else:
                self._report(d, PeerMessageErrCode.OK)
        if stored:
            self.ctx.store.delete(self.app_id, self.user_id, stored)

    def _load_offline(self) -> None:
        for s in self.ctx.store.fetch(self.app_id, self.user_id, now_ms()):
            if len(self._window) >= self.ctx.config.max_unacked:
                # A resumed client still holding a full window is not cut off for
                # this: the rest stays stored for its next login.
                break
            if s.store_id in self._stored_in_flight:
                continue
            msg = wire_message(s)
            self._on_deliver(m.Deliver(None, s.sender_id, msg, s.ts, True, s.store_id))

    def _refuse(self, d: m.Deliver) -> None:
        """Turn away a message a cut-off client has no room for. It is not stored
        either: it would be delivered ahead of the older messages the session holds
        (they go to the store only when the grace period ends)."""
        if d.store_id is None:
            self._report(d, PeerMessageErrCode.PEER_UNREACHABLE)

    def _bounce(self, d: m.Deliver, successor: Any) -> None:
        """Settle a push this session cannot deliver: hand over, store, or report."""
        if successor is not None and tell_or_run_inline(successor, d):
            return
        if d.store_id is not None:
            return  # still in the store: the next login gets it
        self._report(d, store_or_unreachable(self.ctx, self.app_id, self.user_id, d))

    def _report(self, d: m.Deliver, code: PeerMessageErrCode) -> None:
        """Give the sender its receipt (stored messages have none waiting)."""
        if d.sender is not None:
            tell_or_run_inline(d.sender, m.Delivered(self.user_id, d.message.id, code))

    def _send(self, frame: Any) -> None:
        # A failed write marks the link closed; its reader greenlet then reports it.
        link = self.outlet.link
        if link is not None:
            self._clock.sent(frame)
            link.send(codec.encode(frame))


def store_or_unreachable(
    ctx: ServerContext, app_id: str, receiver_id: str, d: m.Deliver
) -> PeerMessageErrCode:
    """Keep an undeliverable message for its receiver if the sender asked for that:
    ``CACHED_BY_SERVER`` only if the store kept it. Otherwise (no offline flag, the
    receiver's queue is full, or the store could not keep it as long as promised: a
    Redis without persistence, docs/cluster.md) ``PEER_UNREACHABLE``: not delivered,
    not kept."""
    if not d.offline_ok or not accepts_offline(ctx.store):
        return PeerMessageErrCode.PEER_UNREACHABLE
    if not within_offline_quota(ctx, app_id, d):
        return PeerMessageErrCode.TOO_OFTEN
    msg = d.message
    stored = StoredMessage(d.sender_id, msg.id, msg.kind, msg.text, msg.raw, d.ts)
    if not ctx.store.push(app_id, receiver_id, stored):
        release_offline_quota(ctx, app_id, d)  # not kept: it holds nothing
        return PeerMessageErrCode.PEER_UNREACHABLE
    ctx.stats.offline_stored += 1
    return PeerMessageErrCode.CACHED_BY_SERVER


def within_offline_quota(ctx: ServerContext, app_id: str, d: m.Deliver) -> bool:
    """Whether the sender and its app may store ``d`` (counted if so): over a quota,
    the message is not kept and is answered ``TOO_OFTEN``, never ``CACHED_BY_SERVER``."""
    size = message_size(d.message.text, d.message.raw)
    return ctx.offline_quota.admit(app_id, d.sender_id, size, d.ts / 1000)


def release_offline_quota(ctx: ServerContext, app_id: str, d: m.Deliver) -> None:
    """A stored message ``d`` reached its receiver: its sender's quota has room again."""
    size = message_size(d.message.text, d.message.raw)
    ctx.offline_quota.release(app_id, d.sender_id, size, d.ts / 1000)


def held_size(message: WireMessage) -> int:
    """About what holding ``message`` costs (characters, not UTF-8 bytes: no encode on
    the hot path)."""
    return len(message.text) + (len(message.raw) if message.raw else 0)


def wire_message(s: StoredMessage) -> WireMessage:
    """The wire form of a stored message."""
    return WireMessage(id=s.message_id, kind=s.kind, text=s.text, raw=s.raw)
