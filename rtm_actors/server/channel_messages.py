"""Typed messages between sessions and channel actors on the server.

A session tells its channel the requests below with its own ref (``MemberRef``): the
channel answers there, and tells it the channel's messages and events
(``SendFrame``, ``SendBytes``, ``SendEvent``) and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import msgspec

from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.frames import (
    AnyServerFrame,
    ChannelAttributesUpdated,
    MemberJoined,
    MemberLeft,
    WireMessage,
)
from rtm_actors.server.link import MemberWrite

if TYPE_CHECKING:
    from rtm_actors.runtime import Ref
    from rtm_actors.server.cluster.envelopes import ChannelPost, MemberChange


#: A member's session as its channel sees it: what the channel may tell it.
MemberRef: TypeAlias = "Ref[SendFrame | SendBytes | SendEvent]"


class Join(msgspec.Struct, frozen=True):
    """A session joins (or re-joins, with a replay cursor)."""

    session: MemberRef
    user_id: str
    rid: int
    epoch: str = ""
    after: int = 0
    #: The member's write-only capability (``link.MemberWrite``): the channel writes
    #: its messages to the member's socket through it when that keeps their order.
    write: MemberWrite | None = None


class Leave(msgspec.Struct, frozen=True):
    """A session leaves; ``rid`` 0 when the session ended (no reply)."""

    session: MemberRef
    user_id: str
    rid: int = 0


class Publish(msgspec.Struct, frozen=True):
    """A member sends a message to the others."""

    session: MemberRef
    user_id: str
    rid: int
    message: WireMessage
    ts: int


class CatchUpRequest(msgspec.Struct, frozen=True):
    """A member whose link came back wants what it missed."""

    session: MemberRef
    user_id: str
    epoch: str
    after: int


class ListMembers(msgspec.Struct, frozen=True):
    """A member asks who is in the channel."""

    session: MemberRef
    user_id: str
    rid: int


class WriteAttributes(msgspec.Struct, frozen=True):
    """Anyone writes the channel's attributes."""

    session: MemberRef
    user_id: str
    rid: int
    op: AttributeOp
    attributes: dict[str, str]
    keys: list[str]
    notify: bool
    ts: int


class ReadAttributes(msgspec.Struct, frozen=True):
    """Anyone reads the channel's attributes."""

    session: MemberRef
    rid: int
    keys: list[str] | None


#: What a channel pushes to its members reliably (numbered, acknowledged).
MemberEvent = MemberJoined | MemberLeft | ChannelAttributesUpdated


class ChannelTick(msgspec.Struct, frozen=True):
    """The channel's periodic housekeeping (member counts, idle stop)."""


class SendFrame(msgspec.Struct, frozen=True):
    """Channel -> session: write this frame to the client (a reply, or a count)."""

    frame: AnyServerFrame


class SendBytes(msgspec.Struct, frozen=True):
    """Channel -> session: write these pre-built websocket bytes (a channel message,
    encoded once for every member)."""

    channel_id: str
    data: bytes


class SendEvent(msgspec.Struct, frozen=True):
    """Channel -> session: a member event to push reliably (numbered, acknowledged)."""

    frame: MemberEvent


class LogPost(msgspec.Struct, frozen=True):
    """Cluster -> channel: the channel log's entry number ``cseq`` (a ``ChannelPost``,
    from any node, this one too)."""

    cseq: int
    post: ChannelPost


class LogGap(msgspec.Struct, frozen=True):
    """Cluster -> channel: log entries were trimmed before this node read them."""


class RemoteMember(msgspec.Struct, frozen=True):
    """Cluster -> channel: a member joined or left through another node (``MemberChange``)."""

    change: MemberChange


class RemoteAttributes(msgspec.Struct, frozen=True):
    """Cluster -> channel: another node wrote the attributes; reload, maybe notify."""

    notify: bool


class Resync(msgspec.Struct, frozen=True):
    """Cluster -> channel: Redis came back (or lost its data): register members again."""


#: What a ``ChannelActor`` takes: its members' sessions' requests, its timer, and
#: the cluster's news of the channel on other nodes.
ChannelInput = (
    Publish
    | Join
    | Leave
    | CatchUpRequest
    | ListMembers
    | WriteAttributes
    | ReadAttributes
    | ChannelTick
    | LogPost
    | LogGap
    | RemoteMember
    | RemoteAttributes
    | Resync
)
