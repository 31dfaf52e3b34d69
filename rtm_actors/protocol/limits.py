"""Agora's limits on ids and payloads (spec section 3.1) as pure checks.

Every function answers a plain bool or raises nothing, so both sides of the wire
(the SDK's local checks and the server's checks of whatever arrives) share them.
"""

from __future__ import annotations

import re
from typing import Final

#: Longest user id, channel id (in UTF-8 bytes). Agora's header: "The string length
#: must be less than 64 bytes" (login's ``userId`` and ``createChannel``'s ``channelId``).
MAX_ID_BYTES: Final = 63
#: Longest app id we accept. Agora's are 32 hex characters; a self-hosted
#: deployment may use shorter names, so we take 1-64 letters, digits, ``_`` or ``-``.
MAX_APP_ID_CHARS: Final = 64
#: Largest message (text plus raw bytes together).
MAX_MESSAGE_BYTES: Final = 32 * 1024
#: Largest invitation content / response.
MAX_INVITATION_TEXT_BYTES: Final = 8 * 1024
#: Offline messages kept per receiver, and for how long.
MAX_OFFLINE_MESSAGES: Final = 200
OFFLINE_MESSAGE_TTL_S: Final = 7 * 24 * 3600.0
#: Largest websocket frame the server reads: a full message plus envelope, in JSON.
#: JSON escaping can make 32 KB of text up to six times longer (control characters
#: become \u00XX; raw bytes travel as base64, 4/3 of their size), hence 256 KB.
MAX_FRAME_BYTES: Final = 256 * 1024

# Agora: a-z, A-Z, 0-9, space and ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ ,
_ID_CHARS = r"a-zA-Z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,"
_ID_RE: Final = re.compile(f"[{_ID_CHARS}]{{1,{MAX_ID_BYTES}}}")
_APP_ID_RE: Final = re.compile(f"[A-Za-z0-9_-]{{1,{MAX_APP_ID_CHARS}}}")


def is_valid_user_id(user_id: object) -> bool:
    """A user id is 1-63 allowed ASCII characters (under 64 bytes) and not ``"null"``."""
    return isinstance(user_id, str) and _ID_RE.fullmatch(user_id) is not None and user_id != "null"


def is_valid_channel_id(channel_id: object) -> bool:
    """Channel ids follow the user id rules."""
    return is_valid_user_id(channel_id)


def is_valid_app_id(app_id: object) -> bool:
    """An app id is 1-64 letters, digits, ``_`` or ``-``."""
    return isinstance(app_id, str) and _APP_ID_RE.fullmatch(app_id) is not None


def message_size(text: str, raw: bytes | None) -> int:
    """The size Agora's 32 KB limit is judged on: UTF-8 text plus raw bytes."""
    return len(text.encode("utf-8")) + (len(raw) if raw else 0)


def is_valid_message(text: str, raw: bytes | None) -> bool:
    """A message is at most 32 KB, text and raw payload together."""
    return message_size(text, raw) <= MAX_MESSAGE_BYTES
