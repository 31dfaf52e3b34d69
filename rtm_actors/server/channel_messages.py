"""Typed messages between sessions and channel actors on the server."""

from __future__ import annotations

from typing import Any

import msgspec

from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.frames import WireMessage
from rtm_actors.server.link import MemberWrite


class Join(msgspec.Struct, frozen=True):
    """A session joins (or re-joins, with a replay cursor)."""

    session: Any
    user_id: str
    rid: int
    epoch: str = ""
    after: int = 0
    #: The member's write-only capability (``link.MemberWrite``): the channel writes
    #: its messages to the member's socket through it when that keeps their order.
    write: MemberWrite | None = None


class Leave(msgspec.Struct, frozen=True):
    """A session leaves; ``rid`` 0 when the session ended (no reply)."""

    session: Any
    user_id: str
    rid: int = 0


class Publish(msgspec.Struct, frozen=True):
    """A member sends a message to the others."""

    session: Any
    user_id: str
    rid: int
    message: WireMessage
    ts: int


class CatchUpRequest(msgspec.Struct, frozen=True):
    """A member whose link came back wants what it missed."""

    session: Any
    user_id: str
    epoch: str
    after: int


class ListMembers(msgspec.Struct, frozen=True):
    """A member asks who is in the channel."""

    session: Any
    user_id: str
    rid: int


class WriteAttributes(msgspec.Struct, frozen=True):
    """Anyone writes the channel's attributes."""

    session: Any
    user_id: str
    rid: int
    op: AttributeOp
    attributes: dict[str, str]
    keys: list[str]
    notify: bool
    ts: int


class ReadAttributes(msgspec.Struct, frozen=True):
    """Anyone reads the channel's attributes."""

    session: Any
    rid: int
    keys: list[str] | None


class ChannelTick(msgspec.Struct, frozen=True):
    """The channel's periodic housekeeping (member counts, idle stop)."""


class SendFrame(msgspec.Struct, frozen=True):
    """Channel -> session: write this frame to the client (a reply, or a count)."""

    frame: Any


class SendBytes(msgspec.Struct, frozen=True):
    """Channel -> session: write these pre-built websocket bytes (a channel message,
    encoded once for every member)."""

    channel_id: str
    data: bytes


class SendEvent(msgspec.Struct, frozen=True):
    """Channel -> session: a member event to push reliably (numbered, acknowledged)."""

    frame: Any


class LogPost(msgspec.Struct, frozen=True):
    """Cluster -> channel: the channel log's entry number ``cseq`` (a ``ChannelPost``,
    from any node, this one too)."""

    cseq: int
    post: Any


class LogGap(msgspec.Struct, frozen=True):
    """Cluster -> channel: log entries were trimmed before this node read them."""


class RemoteMember(msgspec.Struct, frozen=True):
    """Cluster -> channel: a member joined or left through another node (``MemberChange``)."""

    change: Any


class RemoteAttributes(msgspec.Struct, frozen=True):
    """Cluster -> channel: another node wrote the attributes; reload, maybe notify."""

    notify: bool


class Resync(msgspec.Struct, frozen=True):
    """Cluster -> channel: Redis came back (or lost its data): register members again."""
