"""``SessionActor``: the peer session, one per logged-in user on this node; a shell.

The rules (validation, rate limits, the delivery window, de-duplication, offline
storage, presence, attributes, channel and invitation bookkeeping) live in the sans-IO
``protocol.server_session.ServerSession``; this actor owns one, feeds it what arrives
(frames from the user's link, deliveries and receipts from other sessions, channel,
presence and invitation events, timers) and carries out what it asks through a
``session_port.NodeSessionPort``: writes to the ``Link``, tells to other actors,
store calls, timers, metrics and log lines with the user's context.

A peer message goes sender session -> ``Deliver`` -> receiver session -> client ->
``Ack`` -> receiver session -> ``Delivered`` -> sender session -> ``Reply(OK)``; those
tells use ``tell_or_run_inline``, so the whole path runs in the gateways' greenlets.
What this actor shares with others, deliberately and narrowly (the channels' write-only
handle on its socket, above all), is listed in ``docs/architecture.md``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any, Never

import pykka
import structlog

from rtm_actors.protocol.flow import DeliveryWindow
from rtm_actors.protocol.frames import Ack, SendPeerMessage
from rtm_actors.protocol.server_session import ServerSession
from rtm_actors.protocol.server_session_io import Push
from rtm_actors.runtime import GeventActor, now
from rtm_actors.server import channel_messages as chm, messages as m, wsio
from rtm_actors.server.context import now_ms
from rtm_actors.server.invitation_actor import Involve, PushInvitation, Uninvolve
from rtm_actors.server.metrics import RequestClock
from rtm_actors.server.session_port import NodeSessionPort

if TYPE_CHECKING:
    from rtm_actors.runtime import Supervisor
    from rtm_actors.server.services import SessionServices

log = structlog.get_logger("rtm_actors.server.session")

#: What a session is told: by gateways, other sessions, channels, invitations, the
#: presence hub, its timers, the node.
SessionMessage = (
    m.FrameIn
    | m.Deliver
    | m.Delivered
    | m.Attach
    | m.SessionTimerFired
    | m.LinkClosed
    | m.BadFrame
    | m.PingIn
    | chm.SendBytes
    | chm.SendFrame
    | chm.SendEvent
    | PushInvitation
    | Involve
    | Uninvolve
    | m.PresenceUpdate
    | m.KickSession
    | m.Shutdown
)


class SessionActor(GeventActor):
    """The server side of one logged-in user: a shell around a ``ServerSession``."""

    shutdown_tier = 0
    #: The login and the peer-message path (frames in, deliveries, receipts) run in
    #: the teller's greenlet while the session is idle: a message is handled by the
    #: sender's and the receiver's gateway greenlets with no switch into a session's
    #: own, which starts only once something has to wait. An invitation's events and
    #: a channel's replies are as short (a push or a write): taken inline too.
    inline_messages = frozenset(
        {
            m.Attach,
            m.FrameIn,
            m.Deliver,
            m.Delivered,
            m.PingIn,
            m.BadFrame,
            PushInvitation,
            Involve,
            Uninvolve,
            chm.SendFrame,
        }
    )

    def __init__(self, node: SessionServices, app_id: str, user_id: str, session_key: str) -> None:
        super().__init__()
        self.app_id = app_id
        self.user_id = user_id
        self.session_key = session_key
        self._clock = RequestClock(node.metrics)
        self._port = NodeSessionPort(node, self, self._clock)
        #: What the desk told the session back in this turn (``SessionParty``).
        self._later = self._port.party.later
        self._session = ServerSession(
            self._port,
            node.config,
            app_id,
            user_id,
            session_key,
            self.actor_ref,
            now(),
        )

    @property
    def log(self) -> Any:
        """The session's logger, with its user (bound when used: a session logs a few
        lines in its life, and a bound logger kept per session would cost ~0.5 KB)."""
        return log.bind(app_id=self.app_id, user_id=self.user_id, session=self.session_key[:8])

    @property
    def _window(self) -> DeliveryWindow[Push]:
        """The pushes the client has not acknowledged (for tests and inspection)."""
        return self._session.window

    def on_receive(self, message: SessionMessage) -> Any:
        session = self._session
        match message:
            case m.FrameIn(link_id=link_id, frame=frame, received_at=received_at):
                if link_id == session.link_id:
                    self._clock.received(frame, received_at)
                    # The peer-message path's two frames skip the full dispatch (and
                    # an Ack the clocks it does not need).
                    if type(frame) is SendPeerMessage:
                        session.send_peer(frame, now(), now_ms())
                    elif type(frame) is Ack:
                        self._on_ack(frame.seq)
                    else:
                        session.frame(frame, now(), time.time())
            case m.Deliver():
                session.deliver(message)
            case m.Delivered():
                session.delivered(message)
            # (Ahead of the rarer messages: each case passed costs a type check.)
            case PushInvitation(frame=frame, role=role, actor=actor):
                session.invitation_push(frame, role, actor)
            case Involve(actor=actor, role=role, key=key):
                session.invitations.involve(key, actor, role)
            case Uninvolve(key=key):
                session.invitations.uninvolve(key)
            case chm.SendFrame(frame=frame):
                self._port.send(frame)
            case m.Attach(link=link, rid=rid, resumed=resumed, token=token, started=started):
                self._port.attaching = link
                attached = session.attach(
                    link.id, rid, resumed=resumed, peer=link.peer, token=token, wall=time.time()
                )
                self._port.attaching = None
                if attached and started is not None:
                    self._port.metrics.observe("login", time.perf_counter() - started)
                return attached  # (an attach hands the desk nothing: no ``later``)
            case m.SessionTimerFired(timer=timer):
                session.timer_fired(timer, now())
            case m.LinkClosed(link_id=link_id, why=why):
                if link_id == session.link_id:
                    session.link_closed(why)
            case m.BadFrame(link_id=link_id, detail=detail):
                if link_id == session.link_id:
                    session.bad_frame(detail)
            case m.PingIn(link_id=link_id, payload=payload):
                current = self._port.link
                if current is not None and link_id == current.id:
                    current.send_frame(wsio.frame(payload, wsio.OP_PONG))
            case chm.SendBytes(channel_id=channel_id, data=data):
                session.channel_bytes(channel_id, data)
            case chm.SendEvent(frame=frame):
                session.channel_event(frame)
            case m.PresenceUpdate(user_id=user_id, state=state):
                session.presence_update(user_id, state)
            case m.KickSession(reason=reason, successor=successor):
                session.kick(reason, successor, now())
            case m.Shutdown():
                session.shutdown(now())
            case _:
                self._unknown(message)
        later = self._later
        if later:
            self._receive_later(later)
        return None

    def _receive_later(self, later: deque[Any]) -> None:
        """What the desk told the session back while the session handed it an input in
        this turn (a reply, an invitation's end: ``SessionParty``), handled now, in
        order, in this greenlet (each as a message of its own, which drains in turn what
        handling it adds)."""
        try:
            while later and not self.actor_stopped.is_set():
                self.on_receive(later.popleft())
        finally:
            later.clear()

    def _on_ack(self, seq: int) -> None:
        """The client has every push up to ``seq`` (a method of its own: a test makes
        it fail, to see a crashed session cleaned up)."""
        self._session.ack(seq)

    def _unknown(self, message: Never) -> None:
        # Typed ``Never``: a message type added to ``SessionMessage`` but not handled
        # above fails type-checking; one that is not in it is logged and ignored.
        self.log.warning("unknown_message", message=type(message).__name__)


def start_session(
    supervisor: pykka.ActorRef[Supervisor] | None,
    node: SessionServices,
    app_id: str,
    user_id: str,
    session_key: str,
) -> pykka.ActorRef[SessionActor]:
    """Start a user's session under ``supervisor`` (typed: ``start_under`` takes any
    arguments)."""
    return SessionActor.start_under(supervisor, node, app_id, user_id, session_key)
