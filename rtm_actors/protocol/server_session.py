"""The server's peer session for one logged-in user, sans-IO: rules in, effects out.

Theory of operation
-------------------
A session outlives its websocket (the *link*): a dropped link starts the grace period,
and a login that resumes the session within it finds everything as it was. What must
survive is here:

* the **delivery window**: every push to the client (peer messages, presence changes,
  channel and invitation events) is numbered and kept until the client acknowledges
  it (``Ack(seq)`` covers every push up to ``seq``); a resumed link gets them again;
  the window is bounded in count (``max_unacked``) and bytes (``max_unacked_bytes``),
  and a client past either bound (or past ``max_backlog`` messages waiting in the
  session's inbox) is cut off as a slow consumer;
* the **receipts** of the user's own sends: a peer message goes sender session ->
  ``Deliver`` -> receiver session -> client -> ``Ack`` -> receiver session ->
  ``Delivered`` -> sender session -> ``Reply``, so ``OK`` means the receiver's SDK has
  it, as in Agora; a copy re-sent after a reconnect is answered with the first copy's
  outcome (or waits for it), never delivered twice;
* presence watches, channels joined, invitations taken part in.

Nothing accepted is dropped: a push the client never acknowledged goes, when the
session ends, to the next session of that user (``successor``), or to the offline
store if the sender asked for it (``CACHED_BY_SERVER`` only if the store kept it), or
back to the sender as ``PEER_UNREACHABLE``.

Inputs are the methods below, with the time as an argument (``now``: the loop's
monotonic clock, for rate limits and timers; ``wall``/``wall_ms``: the epoch clock,
for timestamps and token expiry). The machine never reads a clock and never logs.

The shell and the port
----------------------
The machine's outputs go to a ``SessionPort`` (``server_session_io``) the shell passes
in: ``send`` (a frame for the client), ``tell`` (a message for another session),
``count`` (a node counter) and ``perform`` (every other effect, a frozen struct). An
effect sink rather than a returned list because the peer-message path is the server's
hottest: four inputs per message (send, deliver, ack, receipt), one output each, and
returning ``[Effect(frame)]`` to a shell that loops over it cost 245 ns per output
against 67 ns for handing the frame to the sink (msgspec struct; 654 ns with a frozen
dataclass): ~0.7 us per message, the whole 5% budget of the ~14 us the server spends
on one (``benchmarks/session_path.py``). The frame or message handed to
``send``/``tell`` exists anyway. Tests pass a port that records every call as a
frozen effect.

What the rules need from node-wide state that outlives the session (the per-user rate
registry, presence, the attribute store, routing a user id, whether the offline store
kept a message, the offline quota) is asked of the same port, synchronously: each
answer decides the very next step of a rule (a peer that is gone is stored for
instead; a quota refusal is the reply), so an effect -> result round trip would cut
each rule into continuations for nothing. The port's methods are narrow and typed;
the machine never sees the node's ``ServerContext``.

Requests that keep state of their own are pieces the machine composes, one job each,
all talking to the same port: ``session_presence.PresenceRequests`` (whom the user
watches, changes missed while away; user attributes), ``session_channels.ChannelRequests``
(channels joined) and ``session_invitations.InvitationRequests`` (invitations taken
part in). The delivery window, receipts and the link stay here: every push and every
rule about the link goes through them.

Which other actors the shell may reach, and how, is listed in ``docs/architecture.md``.

=======================  ==========================================================
input                    rules and effects
=======================  ==========================================================
attach(link)             close an older link, token timers, presence ONLINE, TakeLink,
                         LoginOk, re-send the window, missed presence, offline messages
link_closed / cut off    ForgetLink / CloseSessionLink, grace and unreachable timers
send_peer(frame)         validate, de-duplicate, rate limit, tell ``Deliver`` to the
                         receiver's session, or store / report unreachable
deliver(Deliver)         window bounds (else cut off, refuse), push ``PeerMessage``
ack(seq)                 release pushes: receipts (``Delivered``), store deletes,
                         invitation acknowledgements
delivered(Delivered)     ``Reply`` to the send waiting for it; remember OK/CACHED
frame(other)             presence, attributes, channels, invitations, token renewal,
                         logout; each checked and rate limited here
timer_fired(timer)       grace: end; unreachable: presence; token: warn / kick
kick / shutdown          ``Kick`` frame, close, end (hand unacked pushes to successor)
end (any cause)          leave channels and invitations, unwatch, presence OFFLINE,
                         settle every unacknowledged push, log, Stop
=======================  ==========================================================
"""

from __future__ import annotations

from typing import assert_never

import msgspec

from rtm_actors.protocol.codes import (
    ConnectionChangeReason,
    DisconnectCode,
    LoginErrCode,
    LogoutErrCode,
    PeerMessageErrCode,
    PeerOnlineState,
    RenewTokenErrCode,
)
from rtm_actors.protocol.flow import DeliveryWindow, RecentIds
from rtm_actors.protocol.frames import (
    Ack,
    AddOrUpdateLocalAttributes,
    AnswerInvitation,
    AnyClientFrame,
    AnyServerFrame,
    CancelInvitation,
    CatchUp,
    ChannelAttributesWrite,
    ClearLocalAttributes,
    DeleteLocalAttributes,
    Error,
    GetChannelAttributes,
    GetChannelMemberCount,
    GetMembers,
    GetUserAttributes,
    InvitationEvent,
    JoinChannel,
    Kick,
    LeaveChannel,
    Login,
    LoginOk,
    Logout,
    PeerMessage,
    Ping,
    Pong,
    PresenceChanged,
    QueryPresence,
    QuerySubscriptions,
    RenewToken,
    Reply,
    SendChannelMessage,
    SendInvitation,
    SendPeerMessage,
    SetLocalAttributes,
    Subscribe,
    TokenWillExpire,
    Unsubscribe,
    WireMessage,
)
from rtm_actors.protocol.invitation import ACKNOWLEDGED_EVENTS
from rtm_actors.protocol.limits import (
    is_valid_message,
    is_valid_user_id,
)
from rtm_actors.protocol.server_session_io import (
    CancelAllTimers,
    CancelSessionTimer,
    CloseSessionLink,
    DeleteStored,
    Deliver,
    Delivered,
    EventPush,
    ForgetLink,
    InvitationAcknowledged,
    InvitationPush,
    LogEvent,
    PresencePush,
    Push,
    SaveAttributes,
    SessionConfig,
    SessionPort,
    SessionRef,
    SessionTimer,
    StartSessionTimer,
    Stop,
    TakeLink,
    TakenOver,
    held_size,
    release_offline_quota,
    store_or_unreachable,
)
from rtm_actors.protocol.session_channels import MESSAGES, VALID_KINDS, ChannelRequests
from rtm_actors.protocol.session_invitations import InvitationRequests
from rtm_actors.protocol.session_presence import PresenceRequests, attribute_request
from rtm_actors.protocol.tokens import TokenCheck

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
#: Outcomes a re-sent copy is answered with again: the message went somewhere. A
#: message that was neither delivered nor kept may be tried again by a retry.
_FINAL_OUTCOMES = frozenset({PeerMessageErrCode.OK, PeerMessageErrCode.CACHED_BY_SERVER})


class ServerSession:
    """The rules of one logged-in user's session; see the module docstring."""

    __slots__ = (
        "_awaiting_receipt",
        "_config",
        "_port",
        "_results",
        "_self_ref",
        "_started",
        "_stored_in_flight",
        "app_id",
        "channels",
        "ended",
        "invitations",
        "link_id",
        "links",
        "peer",
        "presence",
        "received",
        "sent",
        "session_key",
        "token_expires_at",
        "user_id",
        "window",
        "window_bytes",
    )

    def __init__(
        self,
        port: SessionPort,
        config: SessionConfig,
        app_id: str,
        user_id: str,
        session_key: str,
        self_ref: SessionRef,
        now: float,
    ) -> None:
        self._port = port
        self._config = config
        self.app_id = app_id
        self.user_id = user_id
        self.session_key = session_key
        #: This session's own ref: the sender of its ``Deliver``s.
        self._self_ref = self_ref
        self._started = now
        #: The current link's id; None while the client is away.
        self.link_id: int | None = None
        self.ended = False
        self.window: DeliveryWindow[Push] = DeliveryWindow()
        #: Message bytes in the window (``max_unacked_bytes``): 2,000 pushes of 32 KB
        #: held for a client that never acknowledges would be ~64 MB for one user.
        self.window_bytes = 0
        self._stored_in_flight: set[int] = set()
        # (receiver id, message id) -> (rid, ts): sent, waiting for the receipt.
        self._awaiting_receipt: dict[tuple[str, int], tuple[int, int]] = {}
        # (receiver id, message id) -> (code, ts): settled, to answer re-sent copies.
        self._results: RecentIds[tuple[int, int]] = RecentIds(config.dedup_window)
        self.token_expires_at: int | None = None
        self.sent = 0
        self.received = 0
        #: Websockets this session has had (1 + reconnects that resumed it).
        self.links = 0
        self.peer = ""
        #: The session's presence watches, channels and invitations.
        self.presence = PresenceRequests(port, self._push_reliably)
        self.channels = ChannelRequests(port)
        self.invitations = InvitationRequests(port, app_id, user_id, config.max_live_invitations)

    # -- the link ----------------------------------------------------------------

    def attach(
        self,
        link_id: int,
        rid: int,
        *,
        resumed: bool,
        peer: str,
        token: TokenCheck | None,
        wall: float,
    ) -> bool:
        """Take link ``link_id`` and answer login ``rid``; False if the session ended."""
        port = self._port
        if self.ended:
            if not resumed:
                # A newer login of the user (on another node) took over while this
                # one was being claimed: this one is told so, as it would be later.
                port.perform(TakenOver())
            return False
        if self.link_id is not None:
            self._close_link(DisconnectCode.SHUTDOWN, "replaced by a newer link")
        if token is not None:
            # Before the log line below, which reports the expiry.
            self._set_token(token.session_expires_at, wall)
        port.perform(CancelSessionTimer(SessionTimer.GRACE))
        port.perform(CancelSessionTimer(SessionTimer.UNREACHABLE))
        if not resumed:
            # A fresh login starts with no attributes, whatever an older session left.
            port.perform(SaveAttributes({}))
        port.set_presence(PeerOnlineState.ONLINE)
        # The link is taken only now: while the calls above wait on Redis, a channel
        # would write its messages straight to it, ahead of login_ok, and a client
        # taking them would ask to catch up from past what its old link lost.
        self.link_id = link_id
        port.perform(TakeLink())
        port.send(
            LoginOk(
                rid,
                self.session_key,
                int(wall * 1000),
                resumed=resumed,
                heartbeat_s=self._config.heartbeat_interval,
            )
        )
        for unacked in self.window.pending():
            self._push(unacked.seq, unacked.item)
        self.presence.push_missed()
        self._load_offline(int(wall * 1000))
        self.links += 1
        self.peer = peer
        port.perform(
            LogEvent(
                "session_attached",
                {
                    "resumed": resumed,
                    "peer": peer,
                    "links": self.links,
                    "unacked": len(self.window),
                    "token_expires_at": self.token_expires_at,
                },
            )
        )
        return True

    def link_closed(self, why: str) -> None:
        """The current link's reader ended (closed, reset, idle, slow)."""
        if self.link_id is not None:
            self._link_lost(why, None)

    def bad_frame(self, detail: str) -> None:
        """The current link sent something that does not decode."""
        self._port.count("protocol_errors")
        self._port.send(Error(DisconnectCode.PROTOCOL_ERROR, detail))

    def _cut_off_slow(self) -> None:
        """Close the link of a client that does not keep up; it may resume and catch up."""
        close = CloseSessionLink(DisconnectCode.SLOW_CONSUMER, "not reading fast enough")
        self._link_lost("slow consumer", close)

    def _link_lost(self, why: str, close: CloseSessionLink | None) -> None:
        """The one place a link ends while the session lives: the grace period and the
        slow-consumer count start here, once per link, never again until a new one."""
        port = self._port
        config = self._config
        if why == "slow consumer":
            port.count("slow_consumers")
        silent_for = port.silent_for()
        self.link_id = None
        port.perform(ForgetLink() if close is None else close)
        port.perform(StartSessionTimer(SessionTimer.GRACE, config.grace_period))
        unreachable_in = max(0.0, config.unreachable_after - silent_for)
        port.perform(StartSessionTimer(SessionTimer.UNREACHABLE, unreachable_in))
        # The label is the reason without its detail ("socket error: ...").
        port.count("links_lost", why.split(":", 1)[0])
        port.perform(LogEvent("link_lost", {"why": why, "unacked": len(self.window)}))

    def _close_link(self, code: DisconnectCode, reason: str) -> None:
        if self.link_id is not None:
            self.link_id = None
            self._port.perform(CloseSessionLink(code, reason))

    # -- tokens ---------------------------------------------------------------------

    def _set_token(self, expires_at: int | None, wall: float) -> None:
        """Make the session's expiry the token's, whatever its format (a renewal with
        a 006 token must not lift a 007 expiry): AccessToken2 sessions end when it
        expires (Agora 1.5); a 006 token's at its login privilege's expiry, none if 0."""
        port = self._port
        self.token_expires_at = expires_at
        port.perform(CancelSessionTimer(SessionTimer.TOKEN_WARN))
        port.perform(CancelSessionTimer(SessionTimer.TOKEN_EXPIRED))
        if expires_at is None:
            return
        left = expires_at - wall
        warn_in = left - self._config.token_warning
        if warn_in > 0:
            port.perform(StartSessionTimer(SessionTimer.TOKEN_WARN, warn_in))
        port.perform(StartSessionTimer(SessionTimer.TOKEN_EXPIRED, max(0.0, left)))

    def _renew(self, rid: int, token: str, now: float, wall: float) -> None:
        port = self._port
        if not port.allow("renew", now):
            port.send(Reply(rid, RenewTokenErrCode.TOO_OFTEN))
            return
        check = port.check_token(token)
        code = _RENEW_CODES.get(check.code, RenewTokenErrCode.INVALID_TOKEN)
        if code is RenewTokenErrCode.OK:
            self._set_token(check.session_expires_at, wall)
        port.send(Reply(rid, code))

    # -- ending -----------------------------------------------------------------------

    def timer_fired(self, timer: SessionTimer, now: float) -> None:
        """One of the session's timers ran out."""
        match timer:
            case SessionTimer.GRACE:
                if self.link_id is None:
                    self._end("grace_expired", now)
            case SessionTimer.UNREACHABLE:
                if self.link_id is None:
                    self._port.set_presence(PeerOnlineState.UNREACHABLE)
            case SessionTimer.TOKEN_WARN:
                self._port.send(TokenWillExpire(self.token_expires_at or 0))
            case SessionTimer.TOKEN_EXPIRED:
                self.kick(ConnectionChangeReason.TOKEN_EXPIRED, None, now)
            case _:
                assert_never(timer)

    def kick(
        self, reason: ConnectionChangeReason, successor: SessionRef | None, now: float
    ) -> None:
        """End now: another login took over (``successor`` gets the pushes), or a ban."""
        if self.ended:
            return
        self._port.send(Kick(reason))
        self._close_link(_KICK_CLOSE.get(reason, DisconnectCode.BANNED), reason.name)
        self._end(reason.name.lower(), now, successor)

    def shutdown(self, now: float) -> None:
        """The server is stopping: tell the client to reconnect elsewhere, then end."""
        self._close_link(DisconnectCode.SHUTDOWN, "server shutting down")
        self._end("shutdown", now)

    def _end(self, why: str, now: float, successor: SessionRef | None = None) -> None:
        """Leave routing, hand over or settle every unacknowledged push, stop."""
        if self.ended:
            return
        port = self._port
        self.ended = True
        port.perform(CancelAllTimers())
        self.presence.stop_watching()
        channels = self.channels.leave_all()
        self.invitations.leave_all()
        if port.unregister() and port.set_presence(PeerOnlineState.OFFLINE):
            # Only the user's current session speaks for it (not one replaced by a
            # newer login of the same user, here or on another node).
            port.perform(SaveAttributes({}))
        unacked = 0
        self.window_bytes = 0
        for push in self.window.drain():
            unacked += 1
            if isinstance(push, Deliver):
                self._bounce(push, successor)
        port.count("sessions_ended", why)
        port.perform(
            LogEvent(
                "session_ended",
                {
                    "why": why,
                    "seconds": round(now - self._started, 3),
                    "sent": self.sent,
                    "received": self.received,
                    "links": self.links,
                    "channels": channels,
                    "unacked": unacked,
                    "peer": self.peer,
                },
            )
        )
        port.perform(Stop())

    # -- frames from the client ----------------------------------------------------------

    def frame(self, frame: AnyClientFrame, now: float, wall: float) -> None:
        """A frame from the current link (``now``: loop clock; ``wall``: epoch seconds)."""
        port = self._port
        match frame:
            case SendPeerMessage():
                self.send_peer(frame, now, int(wall * 1000))
            case Ack(seq=seq):
                self.ack(seq)
            case Ping(ts=ts):
                port.send(Pong(ts))
            # (Ahead of the rarer requests: each case passed costs a type check.)
            case SendInvitation() | CancelInvitation() | AnswerInvitation():
                self.invitations.frame(frame, now)
            case Logout(rid=rid):
                port.send(Reply(rid, LogoutErrCode.OK))
                self._close_link(DisconnectCode.LOGGED_OUT, "logged out")
                self._end("logout", now)
            case Login(rid=rid):
                port.send(Reply(rid, LoginErrCode.ALREADY_LOGGED_IN))
            case RenewToken(rid=rid, token=token):
                self._renew(rid, token, now, wall)
            case QueryPresence() | Subscribe() | Unsubscribe() | QuerySubscriptions():
                self.presence.frame(frame, now)
            case (
                SetLocalAttributes()
                | AddOrUpdateLocalAttributes()
                | DeleteLocalAttributes()
                | ClearLocalAttributes()
                | GetUserAttributes()
            ):
                attribute_request(port, self.user_id, frame, now)
            case (
                JoinChannel()
                | LeaveChannel()
                | SendChannelMessage()
                | CatchUp()
                | GetMembers()
                | GetChannelMemberCount()
                | ChannelAttributesWrite()
                | GetChannelAttributes()
            ):
                self.channels.frame(frame, now, int(wall * 1000))
            case _:
                assert_never(frame)

    # -- peer messages: sending ------------------------------------------------------------

    def send_peer(self, frame: SendPeerMessage, now: float, wall_ms: int) -> None:
        """The client sends a peer message (``wall_ms``: its server timestamp)."""
        port = self._port
        msg = frame.message
        rid = frame.rid
        if not is_valid_user_id(frame.peer_id):
            port.send(Reply(rid, PeerMessageErrCode.INVALID_USERID))
            return
        if msg.kind not in VALID_KINDS or not is_valid_message(msg.text, msg.raw):
            port.send(Reply(rid, PeerMessageErrCode.INVALID_MESSAGE))
            return
        key = (frame.peer_id, msg.id)
        awaiting = self._awaiting_receipt
        first = awaiting.get(key)
        if first is not None:
            # Re-sent after a reconnect while the first copy is still on its way.
            awaiting[key] = (rid, first[1])
            return
        earlier = self._results.get(key)
        if earlier is not None:
            port.send(Reply(rid, PeerMessageErrCode(earlier[0]), earlier[1]))
            return
        if not port.allow(MESSAGES, now):
            port.send(Reply(rid, PeerMessageErrCode.TOO_OFTEN))
            return
        self.sent += 1
        port.count("peer_messages")
        delivery = Deliver(self._self_ref, self.user_id, msg, wall_ms, frame.offline)
        peer = port.route(frame.peer_id)
        if peer is not None and port.tell(peer, delivery):
            awaiting[key] = (rid, wall_ms)
            return
        self._finish(key, rid, wall_ms, store_or_unreachable(port, frame.peer_id, delivery))

    def delivered(self, receipt: Delivered) -> None:
        """The receiver's session settled one of this user's messages."""
        key = (receipt.receiver_id, receipt.message_id)
        waiting = self._awaiting_receipt.pop(key, None)
        if waiting is not None:
            self._finish(key, waiting[0], waiting[1], receipt.code)

    def _finish(self, key: tuple[str, int], rid: int, ts: int, code: PeerMessageErrCode) -> None:
        if code in _FINAL_OUTCOMES:
            self._results.put(key, (int(code), ts))
        self._port.send(Reply(rid, code, ts))

    # -- pushes: receiving ---------------------------------------------------------------

    def deliver(self, d: Deliver) -> None:
        """A peer message for this user (from a session, or from the offline store)."""
        if self.ended:
            self._bounce(d, None)
            return
        config = self._config
        size = held_size(d.message)
        window = self.window
        if (
            len(window) >= config.max_unacked
            or self.window_bytes + size > config.max_unacked_bytes
            or self._port.backlog() > config.max_backlog
        ):
            # A client that does not keep up is cut off (once: later arrivals find its
            # link gone); it may resume within the grace period and catch up.
            if self.link_id is not None:
                self._cut_off_slow()
            self._refuse(d)
            return
        if d.store_id is not None:
            self._stored_in_flight.add(d.store_id)
        self.window_bytes += size
        self._push(window.push(d), d)

    def ack(self, seq: int) -> None:
        """The client has every push up to ``seq``."""
        port = self._port
        stored: list[int] = []
        for d in self.window.ack(seq):
            if type(d) is not Deliver:
                if type(d) is InvitationPush and (d.role, d.frame.event) in ACKNOWLEDGED_EVENTS:
                    port.perform(InvitationAcknowledged(d.actor, d.role, d.frame.event))
                continue
            self.window_bytes -= held_size(d.message)
            self.received += 1
            port.count("deliveries")
            if d.store_id is not None:
                stored.append(d.store_id)
                self._stored_in_flight.discard(d.store_id)
                release_offline_quota(port, d)
            elif d.sender is not None:
                port.tell(d.sender, Delivered(self.user_id, d.message.id, PeerMessageErrCode.OK))
        if stored:
            port.perform(DeleteStored(tuple(stored)))

    def channel_bytes(self, channel_id: str, data: bytes) -> None:
        """A channel's message for the client, pre-built (sent, not kept)."""
        if self.link_id is None or channel_id not in self.channels.joined:
            return
        if self._port.backlog() > self._config.max_backlog:
            # This member does not keep up: cut it off, not the channel. It resumes
            # and catches up on what the channel still keeps.
            self._cut_off_slow()
            return
        self._port.send_bytes(data)

    def channel_event(self, frame: AnyServerFrame) -> None:
        """A channel's member or attribute event: pushed reliably if still a member."""
        if getattr(frame, "channel_id", None) in self.channels.joined:
            self._push_reliably(EventPush(frame))

    def invitation_push(self, frame: InvitationEvent, role: str, actor: SessionRef) -> None:
        """An invitation's event for the client; ``actor`` hears when it is acknowledged."""
        self._push_reliably(InvitationPush(frame, role, actor))

    def presence_update(self, user_id: str, state: PeerOnlineState) -> None:
        """A watched user's state changed."""
        self.presence.changed(user_id, state, connected=self.link_id is not None)

    def _push(self, seq: int, push: Push) -> None:
        send = self._port.send
        if type(push) is Deliver:
            offline = push.store_id is not None
            send(PeerMessage(seq, push.sender_id, push.message, push.ts, offline=offline))
        elif isinstance(push, PresencePush):
            send(PresenceChanged(seq, push.states))
        elif isinstance(push, EventPush | InvitationPush):
            send(msgspec.structs.replace(push.frame, seq=seq))

    def _push_reliably(self, push: Push) -> None:
        """Number the push, keep it until acknowledged, and send it if the link is up.

        Past ``max_unacked`` the push is not kept and a connected client is cut off
        as slow: a client that never acknowledges made the session keep every
        invitation and presence push it was sent.
        """
        if len(self.window) >= self._config.max_unacked:
            if self.link_id is not None:
                self._cut_off_slow()
            return
        self._push(self.window.push(push), push)

    def _load_offline(self, now_ms: int) -> None:
        max_unacked = self._config.max_unacked
        for d in self._port.stored_messages(now_ms):
            if len(self.window) >= max_unacked:
                # A resumed client still holding a full window is not cut off for
                # this: the rest stays stored for its next login.
                break
            if d.store_id not in self._stored_in_flight:
                self.deliver(d)

    def _refuse(self, d: Deliver) -> None:
        """Turn away a message a cut-off client has no room for. It is not stored
        either: it would be delivered ahead of the older messages the session holds
        (they go to the store only when the grace period ends)."""
        if d.store_id is None:
            self._report(d, PeerMessageErrCode.PEER_UNREACHABLE)

    def _bounce(self, d: Deliver, successor: SessionRef | None) -> None:
        """Settle a push this session cannot deliver: hand over, store, or report."""
        port = self._port
        if successor is not None and port.tell(successor, d):
            return
        if d.store_id is not None:
            return  # still in the store: the next login gets it
        self._report(d, store_or_unreachable(port, self.user_id, d))

    def _report(self, d: Deliver, code: PeerMessageErrCode) -> None:
        """Give the sender its receipt (stored messages have none waiting)."""
        if d.sender is not None:
            self._port.tell(d.sender, Delivered(self.user_id, d.message.id, code))


def stored_delivery(
    sender_id: str, message_id: int, kind: int, text: str, raw: bytes | None, ts: int, store_id: int
) -> Deliver:
    """An offline message as a delivery from nobody (its receipt was given when stored)."""
    return Deliver(None, sender_id, _wire(message_id, kind, text, raw), ts, True, store_id)


def _wire(message_id: int, kind: int, text: str, raw: bytes | None) -> WireMessage:
    return WireMessage(id=message_id, kind=kind, text=text, raw=raw)
