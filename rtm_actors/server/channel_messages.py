"""Typed messages between sessions and channel actors on the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.frames import WireMessage


@dataclass(frozen=True, slots=True)
class Join:
    """A session joins (or re-joins, with a replay cursor)."""

    session: Any
    user_id: str
    rid: int
    epoch: str = ""
    after: int = 0
    #: The session's ``Outlet``: the channel writes its messages there directly.
    outlet: Any = None


@dataclass(frozen=True, slots=True)
class Leave:
    """A session leaves; ``rid`` 0 when the session ended (no reply)."""

    session: Any
    user_id: str
    rid: int = 0


@dataclass(frozen=True, slots=True)
class Publish:
    """A member sends a message to the others."""

    session: Any
    user_id: str
    rid: int
    message: WireMessage
    ts: int


@dataclass(frozen=True, slots=True)
class CatchUpRequest:
    """A member whose link came back wants what it missed."""

    session: Any
    user_id: str
    epoch: str
    after: int


@dataclass(frozen=True, slots=True)
class ListMembers:
    """A member asks who is in the channel."""

    session: Any
    user_id: str
    rid: int


@dataclass(frozen=True, slots=True)
class WriteAttributes:
    """Anyone writes the channel's attributes."""

    session: Any
    user_id: str
    rid: int
    op: AttributeOp
    attributes: dict[str, str]
    keys: list[str]
    notify: bool
    ts: int


@dataclass(frozen=True, slots=True)
class ReadAttributes:
    """Anyone reads the channel's attributes."""

    session: Any
    rid: int
    keys: list[str] | None


@dataclass(frozen=True, slots=True)
class Tick:
    """The channel's periodic housekeeping (member counts, idle stop)."""


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Channel -> session: write this frame to the client (a reply, or a count)."""

    frame: Any


@dataclass(frozen=True, slots=True)
class SendBytes:
    """Channel -> session: write these pre-built websocket bytes (a channel message,
    encoded once for every member)."""

    channel_id: str
    data: bytes


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Channel -> session: a member event to push reliably (numbered, acknowledged)."""

    frame: Any


@dataclass(frozen=True, slots=True)
class RemotePost:
    """Cluster -> channel: a message published on another node (a ``ChannelPost``)."""

    post: Any


@dataclass(frozen=True, slots=True)
class RemoteMember:
    """Cluster -> channel: a member joined or left through another node (``MemberChange``)."""

    change: Any


@dataclass(frozen=True, slots=True)
class RemoteAttributes:
    """Cluster -> channel: another node wrote the attributes; reload, maybe notify."""

    notify: bool


@dataclass(frozen=True, slots=True)
class Resync:
    """Cluster -> channel: Redis came back (or lost its data): register members again."""
