"""``Channel``: Agora's ``IChannel``, a facade over the service and its own actor.

Requests (join, leave, send, members) travel through the service actor like every
request, so they time out, and are re-sent after a reconnect, the same way. The
service actor owns the channel's state (joined or not, the replay cursor): it admits or
refuses each request by it, and passes on what the server pushes for the channel
(messages once each, member events, counts, attribute updates) while joined, to the
channel's own ``ClientChannelActor``, which fires the channel handler's callbacks on
the service's callback greenlet. The facade keeps nothing but whether it was released.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from rtm_actors.client.channel_requests import (
    ChannelMessageRequest,
    GetMembersRequest,
    JoinRequest,
    LeaveRequest,
    MembershipRequest,
)
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.messages import Callback, DispatcherMessage, JoinedCount
from rtm_actors.client.values import ChannelAttribute, ChannelMember, Message
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
from rtm_actors.runtime import GeventActor, Ref, tell_or_run_inline

if TYPE_CHECKING:
    from rtm_actors.client.service_channels import ChannelPort


class ClientChannelActor(GeventActor):
    """The client side of one channel: turns its pushes into the handler's callbacks.

    It sees only what the service actor admitted (a message once, anything only while
    joined), so it keeps no join state, only the member count it last reported.
    """

    shutdown_tier = 15
    #: Each push is a callback told to the dispatcher: short enough to run in the
    #: service actor's turn that routes it (a greenlet switch less per channel message).
    inline_messages = frozenset(
        {
            ChannelMessage,
            MemberJoined,
            MemberLeft,
            MemberCount,
            JoinedCount,
            ChannelAttributesUpdated,
        }
    )

    def __init__(self, channel_id: str, handler: Any, dispatcher: Ref[DispatcherMessage]) -> None:
        super().__init__()
        self._channel_id = channel_id
        self._handler = handler
        self._dispatcher = dispatcher
        #: The member count last reported to the handler (-1: none yet).
        self._last_count = -1

    def on_receive(self, message: Any) -> None:
        match message:
            case ChannelMessage(peer_id=peer_id, message=wire, ts=ts):
                self._callback("on_message_received", peer_id, Message.from_wire(wire, ts))
            case MemberJoined(user_id=user_id):
                self._callback("on_member_joined", ChannelMember(user_id, self._channel_id))
            case MemberLeft(user_id=user_id):
                self._callback("on_member_left", ChannelMember(user_id, self._channel_id))
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
        tell_or_run_inline(self._dispatcher, Callback(self._handler, method, args))


class Channel:
    """Agora ``IChannel``: made by ``RtmService.create_channel(channel_id, handler)``."""

    def __init__(
        self,
        port: ChannelPort,
        channel_id: str,
        handler: Any,
        actor: pykka.ActorRef[ClientChannelActor],
    ) -> None:
        self._port = port  # the owning RtmService's ChannelPort
        self._channel_id = channel_id
        self._handler = handler
        self._actor = actor
        self._released = False

    def get_id(self) -> str:
        """The channel id."""
        return self._channel_id

    def join(self) -> RtmFuture[None]:
        """Join; ``on_join_success`` (then ``on_member_count_updated``) or ``on_join_failure``
        (``ALREADY_JOINED``, ``EXCEED_LIMIT`` past 20 channels, or the server's code)."""
        code = self._port.check(JoinChannelErr)
        if code is not None:
            return self._refuse(code, "join", "on_join_failure", (code,))
        return self._request(JoinRequest, lambda rid: JoinChannel(rid, self._channel_id))

    def leave(self) -> RtmFuture[None]:
        """Leave (``NOT_IN_CHANNEL`` if not joined); ``on_leave`` follows."""
        code = self._port.check(LeaveChannelErr)
        if code is not None:
            return self._refuse(code, "leave", "on_leave", (code,))
        return self._request(LeaveRequest, lambda rid: LeaveChannel(rid, self._channel_id))

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
        if code is not None:
            return self._refuse(code, "send_message", "on_send_message_result", (message_id, code))
        return self._request(
            ChannelMessageRequest,
            lambda rid: SendChannelMessage(rid, self._channel_id, message.to_wire()),
            self._port.config.peer_message_timeout,
            message_id=message_id,
        )

    def get_members(self) -> RtmFuture[list[ChannelMember]]:
        """Up to 512 members (``NOT_IN_CHANNEL`` if not joined); ``on_get_members`` follows."""
        code = self._port.check(GetMembersErr)
        if code is not None:
            return self._refuse(code, "get_members", "on_get_members", ([], code))
        return self._request(GetMembersRequest, lambda rid: GetMembers(rid, self._channel_id))

    def release(self) -> None:
        """Leave if joined, and drop this channel object."""
        if self._released:
            return
        self._released = True
        self._port.forget(self._channel_id, self._actor)

    def _request(
        self,
        kind: type[MembershipRequest],
        make_frame: Callable[[int], Any],
        timeout: float | None = None,
        **fields: Any,
    ) -> RtmFuture[Any]:
        # Whether this user is in the channel is the service actor's to say: it admits
        # the request or refuses it with the code Agora gives.
        return self._port.request(
            kind,
            make_frame,
            timeout if timeout is not None else self._port.config.request_timeout,
            handler=self._handler,
            channel_id=self._channel_id,
            **fields,
        )

    def _refuse(self, code: Any, what: str, callback: str, args: tuple[Any, ...]) -> RtmFuture[Any]:
        self._port.notify(self._handler, callback, *args)
        return RtmFuture.failed_with(code, what)
