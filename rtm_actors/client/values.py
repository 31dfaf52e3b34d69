"""Frozen value types of the SDK: messages and options (Agora's ``IMessage`` & co.)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from rtm_actors.protocol.codes import MessageType
from rtm_actors.protocol.frames import ChannelAttribute as WireChannelAttribute, WireMessage


@dataclass(frozen=True, slots=True)
class Message:
    """A peer or channel message (Agora ``IMessage``).

    Create outgoing ones with ``RtmService.create_message``; received ones carry
    ``server_received_ts`` (ms) and, for stored peer messages, ``is_offline_message``.
    Sending one ``Message`` twice counts as a retry of the same message: the server
    delivers it once.
    """

    message_id: int
    text: str = ""
    raw_message: bytes | None = None
    message_type: MessageType = MessageType.TEXT
    server_received_ts: int = 0
    is_offline_message: bool = False

    def get_message_id(self) -> int:
        """Agora's ``getMessageId``."""
        return self.message_id

    def get_text(self) -> str:
        """Agora's ``getText``: the text, or a raw message's description."""
        return self.text

    def get_raw_message_data(self) -> bytes | None:
        """Agora's ``getRawMessageData``."""
        return self.raw_message

    def get_message_type(self) -> MessageType:
        """Agora's ``getMessageType``."""
        return self.message_type

    def to_wire(self) -> WireMessage:
        """The form it travels in."""
        return WireMessage(self.message_id, int(self.message_type), self.text, self.raw_message)

    @classmethod
    def from_wire(cls, wire: WireMessage, ts: int, *, offline: bool = False) -> Message:
        """A received message."""
        kind = (
            MessageType(wire.kind)
            if wire.kind in MessageType._value2member_map_
            else MessageType.UNDEFINED
        )
        return cls(wire.id, wire.text, wire.raw, kind, ts, offline)


@dataclass(frozen=True, slots=True)
class SendMessageOptions:
    """Agora ``SendMessageOptions``: store for an offline peer; history (accepted, unused)."""

    enable_offline_messaging: bool = False
    enable_historical_messaging: bool = False


class MessageIds:
    """Message ids unique per sender: a random 30-bit prefix and a counter.

    The random prefix keeps two SDK instances of the same user (a remote login)
    from reusing each other's ids, which receivers de-duplicate on.
    """

    def __init__(self) -> None:
        self._base = secrets.randbits(30) << 32
        self._counter = itertools.count(1)

    def next(self) -> int:
        """A fresh id."""
        return self._base | (next(self._counter) & 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class ChannelMember:
    """Agora ``IChannelMember``: a user in a channel."""

    user_id: str
    channel_id: str

    def get_user_id(self) -> str:
        """Agora's ``getUserId``."""
        return self.user_id

    def get_channel_id(self) -> str:
        """Agora's ``getChannelId``."""
        return self.channel_id


@dataclass(frozen=True, slots=True)
class ChannelAttribute:
    """Agora ``IRtmChannelAttribute``: a key, its value, who last wrote it and when (ms)."""

    key: str
    value: str
    last_update_user_id: str = ""
    last_update_ts: int = 0

    @classmethod
    def from_wire(cls, wire: WireChannelAttribute) -> ChannelAttribute:
        """From the frame form."""
        return cls(wire.key, wire.value, wire.user_id, wire.ts)


@dataclass(frozen=True, slots=True)
class ChannelAttributeOptions:
    """Agora ``ChannelAttributeOptions``: tell the channel's members about this write."""

    enable_notification_to_channel_members: bool = False
