"""Typed messages between the server's actors and the gateway greenlets.

Frozen msgspec structs: immutable like frozen dataclasses, and made in a tenth of the
time (a frozen dataclass sets each field through ``object.__setattr__``); four are
made for every peer message. ``Deliver`` and ``Delivered``, which one session's rules
make for another's, are the machine's own (``protocol.server_session_io``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from rtm_actors.protocol.codes import ConnectionChangeReason, PeerOnlineState
from rtm_actors.protocol.frames import AnyClientFrame
from rtm_actors.protocol.server_session_io import Deliver, Delivered, SessionTimer
from rtm_actors.protocol.tokens import TokenCheck
from rtm_actors.server.link import Link

if TYPE_CHECKING:
    from rtm_actors.runtime import Ref
    from rtm_actors.server.session import SessionMessage

__all__ = [
    "Attach",
    "BadFrame",
    "Deliver",
    "Delivered",
    "FrameIn",
    "KickSession",
    "LinkClosed",
    "PingIn",
    "PresenceUpdate",
    "SessionTimerFired",
    "Shutdown",
]


class Attach(msgspec.Struct, frozen=True):
    """Take ``link`` as the session's websocket and answer login ``rid``.

    Resuming, it is asked: the answer is False if the session already ended (the
    gateway then starts a fresh one). A fresh session is told it as its first
    message, before anyone else knows its ref, so it cannot have ended; it then
    counts the login's duration itself from ``started`` (``time.perf_counter()``).
    """

    link: Link
    rid: int
    resumed: bool
    token: TokenCheck | None = None
    started: float | None = None


class FrameIn(msgspec.Struct, frozen=True):
    """A decoded frame that arrived on link ``link_id``."""

    link_id: int
    frame: AnyClientFrame
    #: ``time.perf_counter()`` when the gateway read it (request latency metrics).
    received_at: float = 0.0


class BadFrame(msgspec.Struct, frozen=True):
    """Link ``link_id`` sent something we could not decode: answer with an error frame."""

    link_id: int
    detail: str


class PingIn(msgspec.Struct, frozen=True):
    """A websocket-level ping arrived on ``link_id``; the session writes the pong."""

    link_id: int
    payload: bytes


class LinkClosed(msgspec.Struct, frozen=True):
    """Link ``link_id`` is gone (closed, reset, or silent past the idle timeout)."""

    link_id: int
    why: str


class KickSession(msgspec.Struct, frozen=True):
    """End the session now: another login took over (``successor``) or a ban."""

    reason: ConnectionChangeReason
    successor: Ref[SessionMessage] | None = None


class Shutdown(msgspec.Struct, frozen=True):
    """The server is stopping: tell the client to reconnect elsewhere, then end."""


class PresenceUpdate(msgspec.Struct, frozen=True):
    """A user this session watches changed state."""

    user_id: str
    state: PeerOnlineState


class SessionTimerFired(msgspec.Struct, frozen=True):
    """One of the session's timers ran out."""

    timer: SessionTimer
