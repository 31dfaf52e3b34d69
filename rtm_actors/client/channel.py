"""``Channel``: Agora's ``IChannel``, a facade over the service and its own actor.

Requests (join, leave, send, members) travel through the service actor like every
request, so they time out, and are re-sent after a reconnect, the same way. What the
server pushes for the channel (messages, member events, counts, attribute updates)
goes to the channel's own ``ClientChannelActor``, which keeps the replay cursor and fires the
channel handler's callbacks on the service's callback greenlet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtm_actors.client.channel_requests import (
    ChannelMessageRequest,
    ChannelState,
    GetMembersRequest,
    JoinRequest,
    LeaveRequest,
)
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.messages import Callback, JoinedCount
from rtm_actors.client.values import ChannelAttribute, ChannelMember, Message
from rtm_actors.protocol.channel import MAX_JOINED_CHANNELS
from rtm_actors.protocol.codes import (
    ChannelMessageErrCode,
    GetMembersErr,
    JoinChannelErr,
    LeaveChannelErr,
)
from rtm_actors.protocol.frames import (
    ChannelAttributesUpdated,
    ChannelMessage,
    GetMembers,
    JoinChannel,
    LeaveChannel,
    MemberCount,
    MemberJoined,
    MemberLeft,
    SendChannelMessage,
)
from rtm_actors.protocol.limits import is_valid_message
from rtm_actors.runtime import GeventActor, tell_or_run_inline

if TYPE_CHECKING:
    from rtm_actors.client.service_channels import ChannelPort


class ClientChannelActor(GeventActor):
    """The client side of one channel: cursor, and the channel's events."""

    shutdown_tier = 15

    def __init__(self, state: ChannelState, dispatcher: Any) -> None:
        super().__init__()
        self._state = state
        self._dispatcher = dispatcher
        #: The member count last reported to the handler (-1: none yet).
        self._last_count = -1

    def on_receive(self, message: Any) -> None:
        state = self._state
        match message:
            case ChannelMessage(epoch=epoch, cseq=cseq, peer_id=peer_id, message=wire, ts=ts):
                if not state.first_delivery(epoch, cseq):
                    return
                self._callback("on_message_received", peer_id, Message.from_wire(wire, ts))
            case MemberJoined(user_id=user_id):
                self._callback("on_member_joined", ChannelMember(user_id, state.channel_id))
            case MemberLeft(user_id=user_id):
                self._callback("on_member_left", ChannelMember(user_id, state.channel_id))
            case MemberCount(count=count):
                # Agora fires it when the number changes: a push of the count already
                # reported (the server's first push after a join repeats the join's) is not.
                if count != self._last_count:
                    self._report_count(count)
            case JoinedCount(count=MemberCount(count=count)):
                self._report_count(count)
            case ChannelAttributesUpdated(attributes=attributes):
                attrs = [ChannelAttribute.from_wire(a) for a in attributes]
                self._callback("on_attributes_updated", attrs)

    def _report_count(self, count: int) -> None:
        self._last_count = count
        self._callback("on_member_count_updated", count)

    def _callback(self, method: str, *args: Any) -> None:
        if self._state.joined and not self._state.released:
            tell_or_run_inline(self._dispatcher, Callback(self._state.handler, method, args))


class Channel:
    """Agora ``IChannel``: made by ``RtmService.create_channel(channel_id, handler)``."""

    def __init__(self, port: ChannelPort, state: ChannelState) -> None:
        self._port = port  # the owning RtmService's ChannelPort
        self._state = state

    def get_id(self) -> str:
        """The channel id."""
        return self._state.channel_id

    def join(self) -> RtmFuture[None]:
        """Join; ``on_join_success`` (then ``on_member_count_updated``) or ``on_join_failure``."""
        state = self._state
        code = self._port.check(JoinChannelErr)
        if code is None and (state.joined or state.joining):
            code = JoinChannelErr.ALREADY_JOINED
        if code is None and self._port.joined_count() >= MAX_JOINED_CHANNELS:
            code = JoinChannelErr.EXCEED_LIMIT
        if code is not None:
            return self._refuse(code, "join", "on_join_failure", (code,))
        state.joining = True
        return self._port.request(
            JoinRequest,
            lambda rid: JoinChannel(rid, state.channel_id),
            self._port.config.request_timeout,
            handler=state.handler,
            channel=state,
        )

    def leave(self) -> RtmFuture[None]:
        """Leave; ``on_leave`` follows."""
        code = self._port.check(LeaveChannelErr)
        if code is None and not self._state.joined:
            code = LeaveChannelErr.NOT_IN_CHANNEL
        if code is not None:
            return self._refuse(code, "leave", "on_leave", (code,))
        self._state.joined = False  # no more events for this channel from now on
        return self._port.request(
            LeaveRequest,
            lambda rid: LeaveChannel(rid, self._state.channel_id),
            self._port.config.request_timeout,
            handler=self._state.handler,
            channel=self._state,
        )

    def send_message(self, message: Message, options: Any = None) -> RtmFuture[None]:
        """Send to every other member; resolved when the server accepted it
        (``CHANNEL_MESSAGE_ERR_OK``); ``on_send_message_result`` follows."""
        code = self._port.check(ChannelMessageErrCode)
        message_id = getattr(message, "message_id", 0)
        if code is None and (
            not isinstance(message, Message)
            or not is_valid_message(message.text, message.raw_message)
        ):
            code = ChannelMessageErrCode.INVALID_MESSAGE
        elif code is None and not self._state.joined:
            # Not NOT_IN_CHANNEL (5): that value is the Web SDK's alone (see README).
            code = ChannelMessageErrCode.FAILURE
        if code is not None:
            return self._refuse(code, "send_message", "on_send_message_result", (message_id, code))
        return self._port.request(
            ChannelMessageRequest,
            lambda rid: SendChannelMessage(rid, self._state.channel_id, message.to_wire()),
            self._port.config.peer_message_timeout,
            handler=self._state.handler,
            message_id=message_id,
            channel_id=self._state.channel_id,
        )

    def get_members(self) -> RtmFuture[list[ChannelMember]]:
        """Up to 512 members; ``on_get_members`` follows."""
        code = self._port.check(GetMembersErr)
        if code is None and not self._state.joined:
            code = GetMembersErr.NOT_IN_CHANNEL
        if code is not None:
            return self._refuse(code, "get_members", "on_get_members", ([], code))
        return self._port.request(
            GetMembersRequest,
            lambda rid: GetMembers(rid, self._state.channel_id),
            self._port.config.request_timeout,
            handler=self._state.handler,
            channel_id=self._state.channel_id,
        )

    def release(self) -> None:
        """Leave if joined, and drop this channel object."""
        if self._state.released:
            return
        if self._state.joined:
            self.leave()
        self._state.released = True
        self._port.forget(self._state)

    def _refuse(self, code: Any, what: str, callback: str, args: tuple[Any, ...]) -> RtmFuture[Any]:
        self._port.notify(self._state.handler, callback, *args)
        return RtmFuture.failed_with(code, what)
