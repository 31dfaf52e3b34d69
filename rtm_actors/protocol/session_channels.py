"""A server session's channel requests, sans-IO: checks, limits, and the channels joined.

The session checks what it can alone (ids, sizes, its own rate limits, the 20-channel
limit) and hands the rest to the channel's actor (a request effect), which answers the
client through the session, so that replies keep their order with its other frames.
"""

from __future__ import annotations

from typing import assert_never

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
from rtm_actors.protocol.server_session_io import (
    ChannelCatchUp,
    ChannelJoin,
    ChannelLeave,
    MembersRequest,
    PublishRequest,
    ReadChannelAttributes,
    SessionPort,
    SessionRef,
    WriteChannelAttributes,
)

#: The rate-limit name of peer and channel messages (the node's ``UserRates``).
MESSAGES = "message"
VALID_KINDS = (MessageType.TEXT, MessageType.RAW)
_OPS = {op.value: op for op in AttributeOp}

ChannelFrame = (
    JoinChannel
    | LeaveChannel
    | SendChannelMessage
    | CatchUp
    | GetMembers
    | GetChannelMemberCount
    | ChannelAttributesWrite
    | GetChannelAttributes
)


class ChannelRequests:
    """The channels one session is in, and the rules of its channel requests."""

    __slots__ = ("_port", "joined")

    def __init__(self, port: SessionPort) -> None:
        self._port = port
        #: Channels joined: channel id -> the channel's actor.
        self.joined: dict[str, SessionRef] = {}

    def frame(self, frame: ChannelFrame, now: float, wall_ms: int) -> None:
        """A channel request from the client."""
        port = self._port
        match frame:
            case JoinChannel():
                self._join(frame, now)
            case LeaveChannel(rid=rid, channel_id=channel_id):
                ref = self.joined.pop(channel_id, None)
                if ref is None:
                    port.send(Reply(rid, LeaveChannelErr.NOT_IN_CHANNEL))
                elif not port.perform(ChannelLeave(ref, channel_id, rid)):
                    port.send(Reply(rid, LeaveChannelErr.OK))
            case SendChannelMessage():
                self._publish(frame, now, wall_ms)
            case CatchUp(channel_id=channel_id, epoch=epoch, after=after):
                ref = self.joined.get(channel_id)
                if ref is not None:
                    port.perform(ChannelCatchUp(ref, epoch, after))
            case GetMembers(rid=rid, channel_id=channel_id):
                self._list_members(rid, channel_id, now)
            case GetChannelMemberCount(rid=rid, channel_ids=channel_ids):
                self._counts(rid, channel_ids, now)
            case ChannelAttributesWrite():
                self._write_attributes(frame, now, wall_ms)
            case GetChannelAttributes(rid=rid, channel_id=channel_id, keys=keys):
                self._read_attributes(rid, channel_id, keys, now)
            case _:
                assert_never(frame)

    def leave_all(self) -> int:
        """The session ends: leave every channel (no replies); answer how many."""
        count = len(self.joined)
        for channel_id, ref in self.joined.items():
            self._port.perform(ChannelLeave(ref, channel_id, 0))
        self.joined.clear()
        return count

    def _join(self, frame: JoinChannel, now: float) -> None:
        port = self._port
        rid, channel_id = frame.rid, frame.channel_id
        code = JoinChannelErr.OK
        if not is_valid_channel_id(channel_id):
            code = JoinChannelErr.INVALID_ARGUMENT
        elif channel_id not in self.joined and len(self.joined) >= MAX_JOINED_CHANNELS:
            code = JoinChannelErr.EXCEED_LIMIT
        elif not port.allow("join", now):
            code = JoinChannelErr.TOO_OFTEN
        elif not port.allow_join(channel_id, now):
            code = JoinChannelErr.JOIN_SAME_CHANNEL_TOO_OFTEN
        if code is not JoinChannelErr.OK:
            port.send(JoinReply(rid, code, channel_id[:64]))
            return
        ref = port.channel(channel_id)
        self.joined[channel_id] = ref
        port.perform(ChannelJoin(ref, channel_id, rid, frame.epoch, frame.after))

    def _publish(self, frame: SendChannelMessage, now: float, wall_ms: int) -> None:
        port = self._port
        msg = frame.message
        ref = self.joined.get(frame.channel_id)
        if msg.kind not in VALID_KINDS or not is_valid_message(msg.text, msg.raw):
            code = ChannelMessageErrCode.INVALID_MESSAGE
        elif ref is None:
            code = ChannelMessageErrCode.NOT_IN_CHANNEL
        elif not port.allow(MESSAGES, now):
            code = ChannelMessageErrCode.TOO_OFTEN
        elif port.perform(PublishRequest(ref, frame.rid, msg, wall_ms)):
            return
        else:
            code = ChannelMessageErrCode.FAILURE
        port.send(Reply(frame.rid, code))

    def _list_members(self, rid: int, channel_id: str, now: float) -> None:
        port = self._port
        ref = self.joined.get(channel_id)
        if ref is None:
            port.send(MembersReply(rid, GetMembersErr.NOT_IN_CHANNEL))
        elif not port.allow("get_members", now):
            port.send(MembersReply(rid, GetMembersErr.TOO_OFTEN))
        elif not port.perform(MembersRequest(ref, rid)):
            port.send(MembersReply(rid, GetMembersErr.FAILURE))

    def _counts(self, rid: int, channel_ids: list[str], now: float) -> None:
        port = self._port
        if len(channel_ids) > MAX_COUNT_CHANNELS:
            code = GetChannelMemberCountErrCode.EXCEED_LIMIT
        elif not channel_ids or not all(is_valid_channel_id(c) for c in channel_ids):
            code = GetChannelMemberCountErrCode.INVALID_ARGUMENT
        elif not port.allow("member_count", now):
            code = GetChannelMemberCountErrCode.TOO_OFTEN
        else:
            counts = port.channel_counts(channel_ids)
            port.send(CountsReply(rid, GetChannelMemberCountErrCode.OK, counts))
            return
        port.send(CountsReply(rid, code))

    def _write_attributes(self, frame: ChannelAttributesWrite, now: float, wall_ms: int) -> None:
        port = self._port
        op = _OPS.get(frame.op)
        if op is None or not is_valid_channel_id(frame.channel_id):
            port.send(Reply(frame.rid, AttributeOperationErr.INVALID_ARGUMENT))
        elif not port.allow("channel_attribute_write", now):
            port.send(Reply(frame.rid, AttributeOperationErr.TOO_OFTEN))
        elif (ref := port.channel_for_write(frame.channel_id)) is None:
            # The app has its cap of channels nobody joined: try again once some expire.
            port.send(Reply(frame.rid, AttributeOperationErr.TOO_OFTEN))
        else:
            attributes, keys = dict(frame.attributes), list(frame.keys)
            write = WriteChannelAttributes(
                ref, frame.rid, op, attributes, keys, frame.notify, wall_ms
            )
            port.perform(write)

    def _read_attributes(
        self, rid: int, channel_id: str, keys: list[str] | None, now: float
    ) -> None:
        port = self._port
        if not is_valid_channel_id(channel_id):
            code = AttributeOperationErr.INVALID_ARGUMENT
        elif not port.allow("channel_attribute_read", now):
            code = AttributeOperationErr.TOO_OFTEN
        else:
            ref = port.live_channel(channel_id)
            if ref is not None and port.perform(ReadChannelAttributes(ref, rid, keys)):
                return
            code = AttributeOperationErr.OK  # a channel that is not live has no attributes
        port.send(ChannelAttributesReply(rid, code))
