"""Typed messages between the server's actors and the gateway greenlets.

Frozen msgspec structs: immutable like frozen dataclasses, and made in a tenth of the
time (a frozen dataclass sets each field through ``object.__setattr__``); four are
made for every peer message."""

from __future__ import annotations

from typing import Any

import msgspec

from rtm_actors.protocol.codes import ConnectionChangeReason, PeerMessageErrCode, PeerOnlineState
from rtm_actors.protocol.frames import AnyClientFrame, WireMessage
from rtm_actors.server.link import Link


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
    token: Any = None
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


class Deliver(msgspec.Struct, frozen=True):
    """A peer message for the receiving session to push to its client.

    ``sender`` gets ``Delivered`` back once the client acknowledged it. A message
    that came out of the offline store has ``store_id`` set and no ``sender``.
    """

    sender: Any
    sender_id: str
    message: WireMessage
    ts: int
    offline_ok: bool
    store_id: int | None = None


class Delivered(msgspec.Struct, frozen=True):
    """The outcome of a peer message, for the sending session to report to its client."""

    receiver_id: str
    message_id: int
    code: PeerMessageErrCode


class KickSession(msgspec.Struct, frozen=True):
    """End the session now: another login took over (``successor``) or a ban."""

    reason: ConnectionChangeReason
    successor: Any = None


class Shutdown(msgspec.Struct, frozen=True):
    """The server is stopping: tell the client to reconnect elsewhere, then end."""


class PresenceUpdate(msgspec.Struct, frozen=True):
    """A user this session watches changed state."""

    user_id: str
    state: PeerOnlineState


class UnreachableTimer(msgspec.Struct, frozen=True):
    """The link has been silent for ``unreachable_after``: the user is UNREACHABLE."""


class GraceExpired(msgspec.Struct, frozen=True):
    """The link stayed down for the whole grace period: the user is offline."""


class TokenTimer(msgspec.Struct, frozen=True):
    """The session token is about to expire ("warn") or has expired ("expired")."""

    what: str
