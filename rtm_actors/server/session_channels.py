"""The channel requests of a ``SessionActor`` (a mixin): checks, limits, routing.

The session checks what it can alone (ids, sizes, its own rate limits, the 20-channel
limit) and hands the rest to the channel's actor, which answers the client through
this session (``SendFrame``), so that replies keep their order with its other frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.channel import MAX_COUNT_CHANNELS, MAX_JOINED_CHANNELS
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    ChannelMessageErrCode,
    GetChannelMemberCountErrCode,
    GetMembersErr,
    JoinChannelErr,
    LeaveChannelErr,
    MessageType,
)
from rtm_actors.protocol.frames import (
    CatchUp,
    ChannelAttributesReply,
    ChannelAttributesWrite,
    CountsReply,
    GetChannelAttributes,
    GetChannelMemberCount,
    GetMembers,
    JoinChannel,
    JoinReply,
    LeaveChannel,
    MembersReply,
    Reply,
    SendChannelMessage,
)
from rtm_actors.protocol.limits import is_valid_channel_id, is_valid_message
from rtm_actors.runtime import now, tell_or_run_inline
from rtm_actors.server import channel_messages as chm
from rtm_actors.server.context import ServerContext, now_ms
from rtm_actors.server.link import Outlet
from rtm_actors.server.user_rates import MESSAGES

CHANNEL_FRAMES = (
    JoinChannel,
    LeaveChannel,
    SendChannelMessage,
    CatchUp,
    GetMembers,
    GetChannelMemberCount,
    ChannelAttributesWrite,
    GetChannelAttributes,
)
_OPS = {op.value: op for op in AttributeOp}


class ChannelRequests:
    """Mixed into ``SessionActor``: needs ``ctx``, ``app_id``, ``user_id``, ``_send``."""

    ctx: ServerContext
    app_id: str
    user_id: str
    actor_ref: Any
    _send: Callable[[Any], None]
    _allow: Callable[[str], bool]
    outlet: Outlet
    key: tuple[str, str]

    def _init_channels(self) -> None:
        self.channels: dict[str, Any] = {}

    def _on_channel_frame(self, frame: Any) -> None:
        match frame:
            case SendChannelMessage():
                self._publish(frame)
            case JoinChannel():
                self._join(frame)
            case LeaveChannel(rid=rid, channel_id=channel_id):
                ref = self.channels.pop(channel_id, None)
                if ref is None:
                    self._send(Reply(rid, LeaveChannelErr.NOT_IN_CHANNEL))
                elif not tell_or_run_inline(ref, chm.Leave(self.actor_ref, self.user_id, rid)):
                    self._send(Reply(rid, LeaveChannelErr.OK))
            case CatchUp(channel_id=channel_id, epoch=epoch, after=after):
                ref = self.channels.get(channel_id)
                if ref is not None:
                    tell_or_run_inline(
                        ref, chm.CatchUpRequest(self.actor_ref, self.user_id, epoch, after)
                    )
            case GetMembers(rid=rid, channel_id=channel_id):
                self._list_members(rid, channel_id)
            case GetChannelMemberCount(rid=rid, channel_ids=channel_ids):
                self._counts(rid, channel_ids)
            case ChannelAttributesWrite():
                self._write_channel_attributes(frame)
            case GetChannelAttributes(rid=rid, channel_id=channel_id, keys=keys):
                self._read_channel_attributes(rid, channel_id, keys)

    def _join(self, frame: JoinChannel) -> None:
        rid, channel_id = frame.rid, frame.channel_id
        code = JoinChannelErr.OK
        if not is_valid_channel_id(channel_id):
            code = JoinChannelErr.INVALID_ARGUMENT
        elif channel_id not in self.channels and len(self.channels) >= MAX_JOINED_CHANNELS:
            code = JoinChannelErr.EXCEED_LIMIT
        elif not self._allow("join"):
            code = JoinChannelErr.TOO_OFTEN
        elif not self.ctx.rates.allow_join(self.key, channel_id, now()):
            code = JoinChannelErr.JOIN_SAME_CHANNEL_TOO_OFTEN
        if code is not JoinChannelErr.OK:
            self._send(JoinReply(rid, code, channel_id[:64]))
            return
        ref = self.ctx.channels.get_or_start(self.app_id, channel_id)
        self.channels[channel_id] = ref
        ref.tell(chm.Join(self.actor_ref, self.user_id, rid, frame.epoch, frame.after, self.outlet))

    def _publish(self, frame: SendChannelMessage) -> None:
        msg = frame.message
        ref = self.channels.get(frame.channel_id)
        if msg.kind not in (MessageType.TEXT, MessageType.RAW) or not is_valid_message(
            msg.text, msg.raw
        ):
            code = ChannelMessageErrCode.INVALID_MESSAGE
        elif ref is None:
            code = ChannelMessageErrCode.NOT_IN_CHANNEL
        elif not self._allow(MESSAGES):
            code = ChannelMessageErrCode.TOO_OFTEN
        else:
            publish = chm.Publish(self.actor_ref, self.user_id, frame.rid, msg, now_ms())
            if tell_or_run_inline(ref, publish):
                return
            code = ChannelMessageErrCode.FAILURE
        self._send(Reply(frame.rid, code))

    def _list_members(self, rid: int, channel_id: str) -> None:
        ref = self.channels.get(channel_id)
        if ref is None:
            self._send(MembersReply(rid, GetMembersErr.NOT_IN_CHANNEL))
        elif not self._allow("get_members"):
            self._send(MembersReply(rid, GetMembersErr.TOO_OFTEN))
        elif not tell_or_run_inline(ref, chm.ListMembers(self.actor_ref, self.user_id, rid)):
            self._send(MembersReply(rid, GetMembersErr.FAILURE))

    def _counts(self, rid: int, channel_ids: list[str]) -> None:
        if len(channel_ids) > MAX_COUNT_CHANNELS:
            code = GetChannelMemberCountErrCode.EXCEED_LIMIT
        elif not channel_ids or not all(is_valid_channel_id(c) for c in channel_ids):
            code = GetChannelMemberCountErrCode.INVALID_ARGUMENT
        elif not self._allow("member_count"):
            code = GetChannelMemberCountErrCode.TOO_OFTEN
        else:
            counts = self.ctx.channels.counts(self.app_id, channel_ids)
            self._send(CountsReply(rid, GetChannelMemberCountErrCode.OK, counts))
            return
        self._send(CountsReply(rid, code))

    def _write_channel_attributes(self, frame: ChannelAttributesWrite) -> None:
        op = _OPS.get(frame.op)
        if op is None or not is_valid_channel_id(frame.channel_id):
            self._send(Reply(frame.rid, AttributeOperationErr.INVALID_ARGUMENT))
        elif not self._allow("channel_attribute_write"):
            self._send(Reply(frame.rid, AttributeOperationErr.TOO_OFTEN))
        elif (ref := self.ctx.channels.start_for_write(self.app_id, frame.channel_id)) is None:
            # The app has its cap of channels nobody joined: try again once some expire.
            self._send(Reply(frame.rid, AttributeOperationErr.TOO_OFTEN))
        else:
            write = chm.WriteAttributes(
                self.actor_ref,
                self.user_id,
                frame.rid,
                op,
                dict(frame.attributes),
                list(frame.keys),
                frame.notify,
                now_ms(),
            )
            ref.tell(write)

    def _read_channel_attributes(self, rid: int, channel_id: str, keys: list[str] | None) -> None:
        if not is_valid_channel_id(channel_id):
            code = AttributeOperationErr.INVALID_ARGUMENT
        elif not self._allow("channel_attribute_read"):
            code = AttributeOperationErr.TOO_OFTEN
        else:
            ref = self.ctx.channels.get(self.app_id, channel_id)
            if ref is not None and tell_or_run_inline(
                ref, chm.ReadAttributes(self.actor_ref, rid, keys)
            ):
                return
            code = AttributeOperationErr.OK  # a channel that is not live has no attributes
        self._send(ChannelAttributesReply(rid, code))

    def _leave_all_channels(self) -> None:
        for ref in self.channels.values():
            tell_or_run_inline(ref, chm.Leave(self.actor_ref, self.user_id, 0))
        self.channels.clear()
