"""Typed messages between the client's actors (facade -> actors, actor -> actor)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rtm_actors.client.config import ClientConfig
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.link import ClientLink
from rtm_actors.protocol.codes import ConnectionChangeReason
from rtm_actors.protocol.connection import Timer
from rtm_actors.protocol.frames import AnyServerFrame


@dataclass(frozen=True, slots=True)
class StartLogin:
    """Facade -> supervisor: log in with these credentials."""

    token: str
    user_id: str
    future: RtmFuture[None]


@dataclass(frozen=True, slots=True)
class StartLogout:
    """Facade -> supervisor: log out."""

    future: RtmFuture[None]


@dataclass(frozen=True, slots=True)
class RenewSessionToken:
    """Facade -> supervisor: use this token from now on."""

    token: str
    future: RtmFuture[str]


@dataclass(frozen=True, slots=True)
class Release:
    """Facade -> supervisor: log out if needed, then stop."""


@dataclass(frozen=True, slots=True)
class LinkOpened:
    """Connector greenlet -> supervisor: attempt ``attempt`` opened ``link``."""

    attempt: int
    link: ClientLink


@dataclass(frozen=True, slots=True)
class LinkOpenFailed:
    """Connector greenlet -> supervisor: attempt ``attempt`` failed."""

    attempt: int
    error: str


@dataclass(frozen=True, slots=True)
class ClientLinkClosed:
    """Reader greenlet -> supervisor: ``link`` has ended."""

    link: ClientLink


@dataclass(frozen=True, slots=True)
class SupervisorTimerFired:
    """A machine timer expired."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class FrameFromServer:
    """Reader greenlet -> service (and service -> supervisor for session frames)."""

    link: ClientLink
    frame: AnyServerFrame


@dataclass(frozen=True, slots=True)
class ServerFrames:
    """Reader greenlet -> service: every frame one read brought in, in order (one turn
    and one acknowledgement per batch, not per frame)."""

    link: ClientLink
    frames: list[AnyServerFrame]


@dataclass(frozen=True, slots=True)
class LinkUp:
    """Supervisor -> service: requests can go out on ``link``."""

    link: ClientLink


@dataclass(frozen=True, slots=True)
class LoginReported:
    """Supervisor -> service: the login (or resume) on ``link`` is on its way to the
    handler; the pushes that came after it may follow."""

    link: ClientLink


@dataclass(frozen=True, slots=True)
class HoldRequests:
    """Supervisor -> service: hold requests until the link is back."""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """Supervisor -> service: logged out or kicked; settle everything pending."""

    reason: ConnectionChangeReason


@dataclass(frozen=True, slots=True)
class SweepTimeouts:
    """Service's periodic check of request deadlines."""


@dataclass(frozen=True, slots=True)
class SetSupervisor:
    """Facade -> service, once at start: where session frames go."""

    ref: Any


@dataclass(frozen=True, slots=True)
class LogoutFlushed:
    """Supervisor's logout helper -> supervisor: the server closed ``link`` (or time ran out)."""

    link: ClientLink


@dataclass(frozen=True, slots=True)
class ChannelCreated:
    """Facade -> service: route this channel's pushes to its actor."""

    state: Any


@dataclass(frozen=True, slots=True)
class ChannelReleased:
    """Facade -> service: the channel object was released."""

    state: Any


@dataclass(frozen=True, slots=True)
class CallManagerSet:
    """Facade -> service: invitations for this user go to this manager (None: nobody)."""

    manager: Any


@dataclass(frozen=True, slots=True)
class TrackInvitation:
    """Facade -> service: route events of invitation ``key`` to ``actor``."""

    key: tuple[Any, ...]
    actor: Any


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """Facade -> supervisor and service: ``set_parameters`` changed the settings.

    Each takes effect at its next use (the next login, reconnect or request).
    """

    config: ClientConfig
    server_url: str | None
