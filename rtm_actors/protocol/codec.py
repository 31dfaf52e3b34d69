"""Encode and decode frames (JSON via msgspec). The one place remote input is judged.

Anything malformed from the other side, whether bad JSON, invalid UTF-8, an unknown
frame type, a wrong field or an oversize frame, becomes ``RemoteProtocolError``.
"""

from __future__ import annotations

from typing import Final

import msgspec

from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.errors import RemoteProtocolError
from rtm_actors.protocol.frames import (
    AnyClientFrame,
    AnyServerFrame,
    ClientFrame,
    ServerFrame,
)
from rtm_actors.protocol.limits import MAX_FRAME_BYTES

_encoder: Final = msgspec.json.Encoder()
_client_decoder: Final[msgspec.json.Decoder[AnyClientFrame]] = msgspec.json.Decoder(AnyClientFrame)
_server_decoder: Final[msgspec.json.Decoder[AnyServerFrame]] = msgspec.json.Decoder(AnyServerFrame)


def encode(frame: ClientFrame | ServerFrame) -> bytes:
    """Serialise a frame to the bytes of one websocket text message."""
    return _encoder.encode(frame)


def decode_client_frame(data: bytes | str, max_bytes: int = MAX_FRAME_BYTES) -> AnyClientFrame:
    """Parse what a client sent. Raises ``RemoteProtocolError`` on anything malformed."""
    _check_size(data, max_bytes)
    try:
        return _client_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise RemoteProtocolError(f"bad frame: {exc}") from None


def decode_server_frame(data: bytes | str, max_bytes: int = 4 * MAX_FRAME_BYTES) -> AnyServerFrame:
    """Parse what the server sent. Raises ``RemoteProtocolError`` on anything malformed."""
    _check_size(data, max_bytes)
    try:
        return _server_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise RemoteProtocolError(f"bad frame: {exc}") from None


def _check_size(data: bytes | str, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise RemoteProtocolError(
            f"frame of {len(data)} bytes exceeds {max_bytes}",
            DisconnectCode.MESSAGE_TOO_BIG,
        )
