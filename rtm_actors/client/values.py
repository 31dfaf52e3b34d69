"""Frozen value types of the SDK: messages and options (Agora's ``IMessage`` & co.)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from rtm_actors.protocol.codes import MessageType
from rtm_actors.protocol.frames import WireChannelAttribute, WireMessage


class OfflineFlag(int):
    """``Message.is_offline_message``: a bool to test, and Agora's getter to call.

    Agora code calls ``isOfflineMessage()``; Python code reads a flag. Both work:
    ``if message.is_offline_message:`` and ``if message.is_offline_message():``.
    Two shared instances (``OfflineFlag.of``), so a received message allocates nothing.
    """

    __slots__ = ()

    def __call__(self) -> bool:
        return bool(self)

    def __repr__(self) -> str:
        return repr(bool(self))

    @staticmethod
    def of(offline: bool) -> OfflineFlag:
        """The shared flag for ``offline``."""
        return _OFFLINE if offline else _ONLINE


_OFFLINE = OfflineFlag(1)
_ONLINE = OfflineFlag(0)


@dataclass(frozen=True, slots=True)
class Message:
    """A peer or channel message (Agora ``IMessage``, the whole surface in snake_case).

    Create outgoing ones with ``RtmService.create_message``; received ones carry
    ``server_received_ts`` (ms) and, for stored peer messages, ``is_offline_message``.
    Every field is also reachable through Agora's getter (``get_text()``,
    ``is_offline_message()`` ...), and ``set_text`` / ``set_raw_message`` change an
    outgoing message before it is sent. Sending one ``Message`` twice counts as a retry
    of the same message: the server delivers it once.
    """

    message_id: int
    text: str = ""
    raw_message: bytes | None = None
    message_type: MessageType = MessageType.TEXT
    server_received_ts: int = 0
    is_offline_message: OfflineFlag = _ONLINE

    def __post_init__(self) -> None:
        if type(self.is_offline_message) is not OfflineFlag:  # Message(..., True) by hand
            object.__setattr__(
                self, "is_offline_message", OfflineFlag.of(bool(self.is_offline_message))
            )

    def get_message_id(self) -> int:
        """Agora's ``getMessageId``."""
        return self.message_id

    def get_text(self) -> str:
        """Agora's ``getText``: the text, or a raw message's description."""
        return self.text

    def set_text(self, text: str) -> None:
        """Agora's ``setText``: the text (or a raw message's description), before sending."""
        object.__setattr__(self, "text", text)

    def get_raw_message_data(self) -> bytes | None:
        """Agora's ``getRawMessageData``."""
        return self.raw_message

    def get_raw_message(self) -> bytes | None:
        """Agora's Java ``getRawMessage``."""
        return self.raw_message

    def get_raw_message_length(self) -> int:
        """Agora's ``getRawMessageLength``: bytes of raw payload (0 for a text message)."""
        return len(self.raw_message) if self.raw_message else 0

    def set_raw_message(self, raw: bytes) -> None:
        """Agora's Java ``setRawMessage``: make it a raw message with these bytes."""
        object.__setattr__(self, "raw_message", bytes(raw))
        object.__setattr__(self, "message_type", MessageType.RAW)

    def get_message_type(self) -> MessageType:
        """Agora's ``getMessageType``."""
        return self.message_type

    def get_server_received_ts(self) -> int:
        """Agora's ``getServerReceivedTs``: when the server took it (ms; 0 before sending)."""
        return self.server_received_ts

    def release(self) -> None:
        """Agora's ``release``: nothing to free in Python (kept so ported code runs)."""

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
        return cls(wire.id, wire.text, wire.raw, kind, ts, OfflineFlag.of(offline))


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

    def release(self) -> None:
        """Nothing to free (kept so ported code runs)."""


@dataclass(frozen=True, slots=True)
class ChannelAttribute:
    """Agora ``IRtmChannelAttribute``: a key, its value, who last wrote it and when (ms)."""

    key: str
    value: str
    last_update_user_id: str = ""
    last_update_ts: int = 0

    def get_key(self) -> str:
        """Agora's ``getKey``."""
        return self.key

    def get_value(self) -> str:
        """Agora's ``getValue``."""
        return self.value

    def get_last_update_user_id(self) -> str:
        """Agora's ``getLastUpdateUserId``."""
        return self.last_update_user_id

    def get_last_update_ts(self) -> int:
        """Agora's ``getLastUpdateTs`` (ms)."""
        return self.last_update_ts

    def release(self) -> None:
        """Nothing to free (kept so ported code runs)."""

    @classmethod
    def from_wire(cls, wire: WireChannelAttribute) -> ChannelAttribute:
        """From the frame form."""
        return cls(wire.key, wire.value, wire.user_id, wire.ts)


@dataclass(frozen=True, slots=True)
class ChannelAttributeOptions:
    """Agora ``ChannelAttributeOptions``: tell the channel's members about this write."""

    enable_notification_to_channel_members: bool = False
