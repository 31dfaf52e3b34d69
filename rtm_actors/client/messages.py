"""Typed messages between the client's actors (facade -> actors, actor -> actor).

Frozen msgspec structs, as on the server: a struct is cheaper to make than a slotted
dataclass, and fields that hold links, futures or refs are plain annotations (nothing
here is ever encoded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from rtm_actors.client.config import ClientConfig
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.link import ClientLink
from rtm_actors.client.requests import Request
from rtm_actors.protocol.codes import ConnectionChangeReason
from rtm_actors.protocol.connection import Timer
from rtm_actors.protocol.frames import (
    AnyServerFrame,
    ChannelAttributesUpdated,
    ChannelMessage,
    InvitationEvent,
    MemberCount,
    MemberJoined,
    MemberLeft,
)
from rtm_actors.runtime.refs import Ref

if TYPE_CHECKING:
    import pykka

    from rtm_actors.client.calls import ClientInvitationActor, RtmCallManager
    from rtm_actors.client.channel import ClientChannelActor

#: Where a call invitation's events go: ("caller", id) or ("callee", caller, id).
InvitationRoute = tuple[str, int] | tuple[str, str, int]


class StartLogin(msgspec.Struct, frozen=True):
    """Facade -> supervisor: log in with these credentials."""

    token: str
    user_id: str
    future: RtmFuture[None]


class StartLogout(msgspec.Struct, frozen=True):
    """Facade -> supervisor: log out."""

    future: RtmFuture[None]


class RenewSessionToken(msgspec.Struct, frozen=True):
    """Facade -> supervisor: use this token from now on."""

    token: str
    future: RtmFuture[str]


class Release(msgspec.Struct, frozen=True):
    """Facade -> supervisor: log out if needed, then stop."""


class LinkOpened(msgspec.Struct, frozen=True):
    """Connector greenlet -> supervisor: attempt ``attempt`` opened ``link``."""

    attempt: int
    link: ClientLink


class LinkOpenFailed(msgspec.Struct, frozen=True):
    """Connector greenlet -> supervisor: attempt ``attempt`` failed."""

    attempt: int
    error: str


class ClientLinkClosed(msgspec.Struct, frozen=True):
    """Reader greenlet -> supervisor: ``link`` has ended."""

    link: ClientLink


class LinkStuck(msgspec.Struct, frozen=True):
    """Service -> supervisor, before it drops the link: the link skipped a push that
    the last ``links`` links all lost (``PushOrder.same_gap``); resume more slowly."""

    links: int


class SupervisorTimerFired(msgspec.Struct, frozen=True):
    """A machine timer expired."""

    timer: Timer


class FrameFromServer(msgspec.Struct, frozen=True):
    """Reader greenlet -> service (and service -> supervisor for session frames)."""

    link: ClientLink
    frame: AnyServerFrame


class ServerFrames(msgspec.Struct, frozen=True):
    """The link's reader -> service: every frame one read brought in, in order (one
    turn and one acknowledgement per batch, not per frame). Told from the hub (plain
    sockets), it waits in the service's inbox for the service's own greenlet."""

    link: ClientLink
    frames: list[AnyServerFrame]


class LinkUp(msgspec.Struct, frozen=True):
    """Supervisor -> service: requests can go out on ``link``."""

    link: ClientLink


class LoginReported(msgspec.Struct, frozen=True):
    """Supervisor -> service: the login (or resume) on ``link`` is on its way to the
    handler; the pushes that came after it may follow."""

    link: ClientLink


class HoldRequests(msgspec.Struct, frozen=True):
    """Supervisor -> service: hold requests until the link is back."""


class SessionEnded(msgspec.Struct, frozen=True):
    """Supervisor -> service: logged out or kicked; settle everything pending."""

    reason: ConnectionChangeReason


class SweepTimeouts(msgspec.Struct, frozen=True):
    """Service's periodic check of request deadlines."""


class SetSupervisor(msgspec.Struct, frozen=True):
    """Facade -> service, once at start: where session frames go."""

    ref: Ref[ConnectionSupervisorMessage]


class LogoutFlushed(msgspec.Struct, frozen=True):
    """Supervisor's logout helper -> supervisor: the server closed ``link`` (or time ran out)."""

    link: ClientLink


class ChannelCreated(msgspec.Struct, frozen=True):
    """Facade -> service: keep this channel's state, and route its pushes to ``actor``."""

    channel_id: str
    handler: Any
    actor: pykka.ActorRef[ClientChannelActor]


class ChannelReleased(msgspec.Struct, frozen=True):
    """Facade -> service: the channel object whose actor is ``actor`` was released
    (leave it if joined, and stop its actor)."""

    channel_id: str
    actor: pykka.ActorRef[ClientChannelActor]


class CallManagerSet(msgspec.Struct, frozen=True):
    """Facade -> service: invitations for this user go to this manager (None: nobody)."""

    manager: RtmCallManager | None


class CallHandlerSet(msgspec.Struct, frozen=True):
    """Call manager -> service -> each live invitation actor: the application's
    ``RtmCallEventHandler`` is now ``handler`` (each actor keeps its own copy, and
    reports to it from then on)."""

    handler: Any


class TrackInvitation(msgspec.Struct, frozen=True):
    """Facade -> service: route events of invitation ``key`` to ``actor``."""

    key: InvitationRoute
    actor: pykka.ActorRef[ClientInvitationActor]


class Reconfigure(msgspec.Struct, frozen=True):
    """Facade -> supervisor and service: ``set_parameters`` changed the settings.

    Each takes effect at its next use (the next login, reconnect or request).
    """

    config: ClientConfig
    server_url: str | None


class JoinedCount(msgspec.Struct, frozen=True):
    """Join request -> channel actor: the count to report right after on_join_success,
    whatever was reported before (a joiner always hears one count)."""

    count: MemberCount


class InvitationSessionLost(msgspec.Struct, frozen=True):
    """Service -> invitation actor: the user's session ended; an invitation in flight fails."""


class StartLocalInvitation(msgspec.Struct, frozen=True):
    """Call manager asks the invitation actor: send it (answers Agora's synchronous
    code; not logged in fails the invitation at once, and that is reported)."""

    logged_in: bool


class CancelLocalInvitation(msgspec.Struct, frozen=True):
    """Call manager asks the invitation actor: may it be cancelled (answers the code)?"""


class AnswerRemoteInvitation(msgspec.Struct, frozen=True):
    """Call manager asks the invitation actor: accept (or refuse) it; answers the code."""

    accept: bool


class InvitationRefusedByServer(msgspec.Struct, frozen=True):
    """Invitation request -> invitation actor: the server refused to start the
    invitation (a limit: docs/security.md)."""


class Callback(msgspec.Struct, frozen=True):
    """Any actor -> dispatcher: call ``handler.<method>(*args)``."""

    handler: Any
    method: str
    args: tuple[Any, ...]


# -- what each actor takes (a ``runtime.Ref`` of one of these is typed) ----------------

#: ``RtmServiceActor``: the link's frames, the facade's requests, the supervisor's news.
ServiceMessage = (
    ServerFrames
    | LoginReported
    | ClientLinkClosed
    | Request
    | LinkUp
    | CallManagerSet
    | CallHandlerSet
    | TrackInvitation
    | ChannelCreated
    | ChannelReleased
    | HoldRequests
    | SessionEnded
    | SweepTimeouts
    | SetSupervisor
    | Reconfigure
)

#: ``ConnectionSupervisor``: the facade's login calls, the link's life, its timers.
ConnectionSupervisorMessage = (
    FrameFromServer
    | SupervisorTimerFired
    | LinkOpened
    | LinkOpenFailed
    | ClientLinkClosed
    | LinkStuck
    | LogoutFlushed
    | StartLogin
    | StartLogout
    | RenewSessionToken
    | Reconfigure
    | Release
)

#: ``EventDispatcher``: the application's callbacks.
DispatcherMessage = Callback

#: ``ClientChannelActor``: the pushes the service actor admitted for its channel.
ChannelActorMessage = (
    ChannelMessage
    | MemberJoined
    | MemberLeft
    | MemberCount
    | JoinedCount
    | ChannelAttributesUpdated
)

#: ``ClientInvitationActor``: the server's events and the call manager's asks.
InvitationActorMessage = (
    InvitationEvent
    | InvitationSessionLost
    | InvitationRefusedByServer
    | StartLocalInvitation
    | CancelLocalInvitation
    | AnswerRemoteInvitation
    | CallHandlerSet
)
