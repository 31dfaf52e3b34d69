"""Channel requests in flight (join, leave, messages, members, attributes, counts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from rtm_actors.client.messages import JoinedCount
from rtm_actors.client.requests import ClientState, Request
from rtm_actors.client.values import ChannelAttribute, ChannelMember
from rtm_actors.protocol.channel import MAX_JOINED_CHANNELS, SeenNumbers
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    ChannelMessageErrCode,
    GetChannelMemberCountErrCode,
    GetMembersErr,
    JoinChannelErr,
    LeaveChannelErr,
)
from rtm_actors.protocol.frames import (
    ChannelAttributesReply,
    ChannelMessage,
    CountsReply,
    JoinReply,
    MemberCount,
    MembersReply,
)
from rtm_actors.runtime import tell_or_run_inline

if TYPE_CHECKING:
    import pykka

    from rtm_actors.client.channel import ClientChannelActor


@dataclass
class ChannelState:
    """One channel's join state and replay cursor, owned by the service actor.

    Only the service actor's turns read or change it (a request about the channel is
    admitted, or settles, there); the ``Channel`` facade and the channel's own actor
    never see it: the facade sends requests, the actor gets the pushes this admits.
    """

    channel_id: str
    handler: Any
    #: The channel's ``ClientChannelActor``: where admitted pushes go.
    actor: pykka.ActorRef[ClientChannelActor]
    joined: bool = False
    joining: bool = False
    epoch: str = ""
    #: The newest message number had in ``epoch`` (the catch-up cursor).
    cseq: int = 0
    #: Every number had recently in ``epoch``: a replay is delivered once.
    seen: SeenNumbers = field(default_factory=SeenNumbers)

    def first_delivery(self, epoch: str, cseq: int) -> bool:
        """Whether message ``cseq`` of ``epoch`` is new here (and move the cursor)."""
        if epoch != self.epoch:
            self.epoch, self.cseq, self.seen = epoch, 0, SeenNumbers()
        if not self.seen.first(cseq):
            return False  # already had (a replay after a reconnect)
        self.cseq = max(self.cseq, cseq)
        return True

    def admits(self, push: Any) -> bool:
        """Whether a push goes on to the channel's actor: a message once (the cursor
        moves even while not joined), anything only while joined."""
        if type(push) is ChannelMessage and not self.first_delivery(push.epoch, push.cseq):
            return False
        return self.joined


#: A handler method's name and its arguments.
CallbackArgs = tuple[str, tuple[Any, ...]]


@dataclass(eq=False)
class MembershipRequest(Request):
    """A request that depends on whether this user is in the channel: the service
    actor, which owns every ``ChannelState``, ``admit``s it before it goes out (the
    facade checks only what it knows itself: initialised, logged in, valid input)."""

    channel_id: str = ""

    def admit(self, channels: Mapping[str, ChannelState]) -> IntEnum | None:
        """The code the request is refused with, or None: then it goes out (and the
        channel's state records it, for a join or a leave)."""
        raise NotImplementedError


@dataclass(eq=False)
class JoinRequest(MembershipRequest):
    """``Channel.join`` (or the SDK's own re-join after a fresh session)."""

    #: The channel's state once admitted (given at once for the SDK's own re-join).
    channel: ChannelState | None = None
    member_count: int = 0
    codes = JoinChannelErr
    timeout_code = JoinChannelErr.TIMEOUT
    failure_code = JoinChannelErr.FAILURE
    what = "join"

    def admit(self, channels: Mapping[str, ChannelState]) -> IntEnum | None:
        channel = channels.get(self.channel_id)
        if channel is None:  # a released channel's facade
            return self.failure_code
        if channel.joined or channel.joining:
            return JoinChannelErr.ALREADY_JOINED
        if sum(1 for c in channels.values() if c.joined or c.joining) >= MAX_JOINED_CHANNELS:
            return JoinChannelErr.EXCEED_LIMIT
        channel.joining = True
        self.channel = channel
        return None

    def value(self, reply: JoinReply, code: IntEnum, state: ClientState) -> Any:
        assert self.channel is not None
        channel = self.channel
        if channel.epoch != reply.epoch:
            channel.epoch, channel.cseq, channel.seen = reply.epoch, 0, SeenNumbers()
        channel.joined = True
        self.member_count = reply.member_count
        return None

    def _finish(self, code: IntEnum, value: Any, notify: Any) -> None:
        channel = self.channel
        if channel is None:  # refused before it was admitted: the channel is not its
            super()._finish(code, value, notify)
            return
        channel.joining = False
        super()._finish(code, value, notify)
        if code == JoinChannelErr.OK:
            # Agora: a member count right after on_join_success. The channel's actor owns
            # the last count reported, so a push of the same number is not reported again;
            # the SDK's own re-join reports the count only if it changed.
            count = MemberCount(channel.channel_id, self.member_count)
            tell_or_run_inline(channel.actor, count if self.internal else JoinedCount(count))

    def callback_args(self, code: IntEnum, value: Any) -> CallbackArgs | None:
        if code == JoinChannelErr.OK:
            return "on_join_success", ()
        return "on_join_failure", (code,)


@dataclass(eq=False)
class LeaveRequest(MembershipRequest):
    """``Channel.leave`` (also sent for a joined channel that is released)."""

    channel: ChannelState | None = None
    codes = LeaveChannelErr
    timeout_code = LeaveChannelErr.FAILURE
    failure_code = LeaveChannelErr.FAILURE
    what = "leave"

    def admit(self, channels: Mapping[str, ChannelState]) -> IntEnum | None:
        channel = channels.get(self.channel_id)
        if channel is None or not channel.joined:
            return LeaveChannelErr.NOT_IN_CHANNEL
        channel.joined = False  # no more events for this channel from now on
        self.channel = channel
        return None

    def value(self, reply: Any, code: IntEnum, state: ClientState) -> Any:
        if self.channel is not None:
            self.channel.joined = False
        return None

    def callback_args(self, code: IntEnum, value: Any) -> CallbackArgs | None:
        return "on_leave", (code,)


@dataclass(eq=False)
class ChannelMessageRequest(MembershipRequest):
    """``Channel.send_message``: resolved once the server accepted the message."""

    message_id: int = 0
    codes = ChannelMessageErrCode
    timeout_code = ChannelMessageErrCode.SENT_TIMEOUT
    failure_code = ChannelMessageErrCode.FAILURE
    what = "send_message"

    def admit(self, channels: Mapping[str, ChannelState]) -> IntEnum | None:
        channel = channels.get(self.channel_id)
        # Not NOT_IN_CHANNEL (5): that value is the Web SDK's alone (see README).
        return None if channel is not None and channel.joined else ChannelMessageErrCode.FAILURE

    def callback_args(self, code: IntEnum, value: Any) -> CallbackArgs | None:
        return "on_send_message_result", (self.message_id, code)

    def _finish(self, code: IntEnum, value: Any, notify: Any) -> None:
        super()._finish(native_channel_message_code(code), value, notify)


def native_channel_message_code(code: IntEnum) -> IntEnum:
    """``NOT_IN_CHANNEL`` (5) is the Web SDK's; the C++/Java enum has only ``FAILURE``.

    The server still answers 5 on the wire (a client in another language may tell the
    two apart); the SDK reports what a C++/Java app can handle.
    """
    if code == ChannelMessageErrCode.NOT_IN_CHANNEL:
        return ChannelMessageErrCode.FAILURE
    return code


@dataclass(eq=False)
class GetMembersRequest(MembershipRequest):
    """``Channel.get_members``."""

    codes = GetMembersErr
    timeout_code = GetMembersErr.TIMEOUT
    failure_code = GetMembersErr.FAILURE
    what = "get_members"

    def admit(self, channels: Mapping[str, ChannelState]) -> IntEnum | None:
        channel = channels.get(self.channel_id)
        return None if channel is not None and channel.joined else GetMembersErr.NOT_IN_CHANNEL

    def value(self, reply: MembersReply, code: IntEnum, state: ClientState) -> Any:
        return [ChannelMember(u, self.channel_id) for u in reply.user_ids]

    def success_value(self, code: IntEnum) -> Any:
        return []

    def callback_args(self, code: IntEnum, value: Any) -> CallbackArgs | None:
        return "on_get_members", (value or [], code)


@dataclass(eq=False)
class ChannelAttributeWriteRequest(Request):
    """The four channel-attribute writes."""

    callback: str = "on_set_channel_attributes_result"
    channel_id: str = ""
    codes = AttributeOperationErr
    timeout_code = AttributeOperationErr.TIMEOUT
    failure_code = AttributeOperationErr.FAILURE
    what = "channel attributes"

    def callback_args(self, code: IntEnum, value: Any) -> CallbackArgs | None:
        return self.callback, (self.rid, code)


@dataclass(eq=False)
class GetChannelAttributesRequest(Request):
    """``get_channel_attributes`` / ``get_channel_attributes_by_keys``."""

    channel_id: str = ""
    codes = AttributeOperationErr
    timeout_code = AttributeOperationErr.TIMEOUT
    failure_code = AttributeOperationErr.FAILURE
    what = "get_channel_attributes"

    def value(self, reply: ChannelAttributesReply, code: IntEnum, state: ClientState) -> Any:
        return [ChannelAttribute.from_wire(a) for a in reply.attributes]

    def success_value(self, code: IntEnum) -> Any:
        return []

    def callback_args(self, code: IntEnum, value: Any) -> CallbackArgs | None:
        return "on_get_channel_attributes_result", (self.rid, value or [], code)


@dataclass(eq=False)
class MemberCountRequest(Request):
    """``get_channel_member_count``."""

    channel_ids: tuple[str, ...] = field(default_factory=tuple)
    codes = GetChannelMemberCountErrCode
    timeout_code = GetChannelMemberCountErrCode.TIMEOUT
    failure_code = GetChannelMemberCountErrCode.FAILURE
    what = "get_channel_member_count"

    def value(self, reply: CountsReply, code: IntEnum, state: ClientState) -> Any:
        return {c: reply.counts.get(c, 0) for c in self.channel_ids}

    def success_value(self, code: IntEnum) -> Any:
        return {}

    def callback_args(self, code: IntEnum, value: Any) -> CallbackArgs | None:
        return "on_get_channel_member_count_result", (self.rid, value or {}, code)
