"""Agora RTM login tokens: the legacy "006" AccessToken and the "007" AccessToken2.

Pure functions (agora-rtm-spec.md sections 1.6 and 3.8): the caller passes the
clock (``now``, ``issued_at``) and the randomness (``salt``). Both formats are
implemented here from their public layout; the tests check them against tokens
made by Agora's own builders (``tests/unit/token_vectors.json``).

All integers are little-endian; a "string" is a ``uint16`` byte length then the
bytes (UTF-8 for text); a "map" is a ``uint16`` count then ``(uint16 key,
uint32 value)`` pairs in ascending key order.

"006" (legacy AccessToken, ``RtmTokenBuilder.buildToken`` of ``agora-token-builder``)
    ``"006" + app_id + base64(content)``, where ``content`` is
    ``string(signature) uint32(crc32(channel)) uint32(crc32(uid)) string(message)``
    and ``message`` is ``uint32(salt) uint32(ts) map(privileges)``. An RTM token
    puts the **user id in the channel-name slot** and leaves the uid empty, and
    grants ``kRtmLogin = 1000``. ``signature = HMAC-SHA256(key=app_certificate,
    app_id + channel + uid + message)``.

    Expiry: ``ts`` is the token's own absolute expiry; the builders set it to
    generation time + 24 h (so a 006 token never lives longer than a day). The
    ``kRtmLogin`` value is the ``privilegeExpiredTs`` given to the builder, an
    absolute unix time; **0 means "no privilege expiry"**, so the token lives
    until ``ts`` (Agora's samples pass 0 and document "each RTM token is valid
    for 24 hours"). A non-zero value earlier than ``ts`` ends the login privilege
    sooner (Agora's hosted RTM documented this argument as not in effect; we
    honour it because the builders document it as the privilege's expiry).
    ``expires_at = min(ts, privilege)`` over the non-zero ones (``None`` only if
    both are 0, which no builder produces).

"007" (AccessToken2, ``RtmTokenBuilder.buildToken`` of Agora's ``RtmTokenBuilder2``)
    ``"007" + base64(zlib(string(signature) + signing_info))``, where
    ``signing_info`` is ``string(app_id) uint32(issue_ts) uint32(expire)
    uint32(salt) uint16(service count)`` and the services in ascending type
    order, each ``uint16(type) map(privileges)`` plus its own fields. The RTM
    service is type 2 with one field, ``string(user_id)``, and privilege
    ``login = 1``; an RTC service (type 1, fields ``string(channel)
    string(uid)``) may come first, as in ``RtcTokenBuilder2.buildTokenWithRtm``.
    The signing key is ``HMAC-SHA256(key=uint32(salt),
    HMAC-SHA256(key=uint32(issue_ts), app_certificate))`` and ``signature =
    HMAC-SHA256(key=signing_key, signing_info)``.

    Expiry: ``expire`` (whole token) and the login privilege are **seconds
    relative to issue_ts**; the RTM builder writes the same ``expire`` to both.
    Each is capped at 24 h (:data:`MAX_007_LIFETIME_S`, spec 3.8: larger values
    count as 24 h). A token ``expire`` of 0 means the token expires at once (at
    ``issue_ts``); a privilege value of 0 means "no privilege limit", the token
    expiry alone applies (Agora's RTC/FPA builders pass 0 that way).
    ``expires_at = issue_ts + min(expire, privilege or expire, 24 h)``, never
    ``None``.

Both: a token is valid while ``now < expires_at`` and expired from
``expires_at`` on. The signature, the app id, the user id (and for 006 the two
CRC fields) and the login privilege are checked before expiry, so only an
authentic token is ever reported TOKEN_EXPIRED; anything else, including
garbage, is INVALID_TOKEN and never an exception. Base64 must be the canonical
standard encoding the builders emit, so no altered token string verifies.

Our builders accept any non-empty app id and certificate (a self-hosted
deployment may use short app ids); Agora's refuse anything but 32 hex
characters, and for those inputs the tokens are the same: a 006 string is
identical; a 007 string is identical to the Python reference's, while the npm
package's differs only in the deflate stream (Node bundles its own zlib), the
inflated content (signature and every field) being byte-identical.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass, field
from typing import Final

from rtm_actors.protocol.codes import LoginErrCode

VERSION_006: Final = "006"
VERSION_007: Final = "007"
#: 006 privilege ``kRtmLogin``.
PRIVILEGE_RTM_LOGIN_006: Final = 1000
#: 007 service types and the RTM service's login privilege.
SERVICE_TYPE_RTC: Final = 1
SERVICE_TYPE_RTM: Final = 2
PRIVILEGE_RTM_LOGIN_007: Final = 1
#: 24 h: the longest a 007 token or privilege lives, whatever it says.
MAX_007_LIFETIME_S: Final = 24 * 3600
#: The 006 builders' token lifetime (``ts = now + 24 h``).
LEGACY_006_LIFETIME_S: Final = 24 * 3600
#: Longer token strings are refused unread (real RTM tokens are ~150-300 chars).
MAX_TOKEN_CHARS: Final = 4096
#: Largest decompressed 007 content we inflate (guards against zlib bombs).
MAX_007_CONTENT_BYTES: Final = 16 * 1024

_UINT16_MAX: Final = 0xFFFF
_UINT32_MAX: Final = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of :func:`verify_token`.

    ``code`` is OK, INVALID_TOKEN or TOKEN_EXPIRED; ``expires_at`` is the absolute
    unix second the login privilege ends (set for OK and TOKEN_EXPIRED, ``None``
    for INVALID_TOKEN or when the token sets no expiry); ``version`` is ``"006"``
    or ``"007"``, ``None`` when the prefix is neither. ``session_expires_at`` is when a
    session logged in or renewed with the token ends: ``expires_at`` for 007; for 006
    its login privilege's expiry, ``None`` when the privilege is 0 (Agora does not end
    a legacy session at the token's 24 h ``ts``).
    """

    code: LoginErrCode
    expires_at: int | None = None
    version: str | None = None
    session_expires_at: int | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """True when the token lets its user log in now."""
        return self.code is LoginErrCode.OK


class _MalformedError(Exception):
    """Raised inside the parsers; never escapes this module."""


class _Reader:
    """Reads Agora's little-endian packed fields, raising _MalformedError on short input."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise _MalformedError
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def uint16(self) -> int:
        value: int = struct.unpack("<H", self._take(2))[0]
        return value

    def uint32(self) -> int:
        value: int = struct.unpack("<I", self._take(4))[0]
        return value

    def string(self) -> bytes:
        return self._take(self.uint16())

    def map_uint32(self) -> dict[int, int]:
        count = self.uint16()
        result: dict[int, int] = {}
        for _ in range(count):
            key = self.uint16()
            result[key] = self.uint32()
        return result

    def rest(self) -> bytes:
        return self._data[self._pos :]

    def at_end(self) -> bool:
        return self._pos == len(self._data)


def _uint16(value: int) -> bytes:
    return struct.pack("<H", value)


def _uint32(value: int) -> bytes:
    return struct.pack("<I", value)


def _string(data: bytes) -> bytes:
    if len(data) > _UINT16_MAX:
        raise ValueError("a packed string holds at most 65535 bytes")
    return _uint16(len(data)) + data


def _map_uint32(items: dict[int, int]) -> bytes:
    return _uint16(len(items)) + b"".join(
        _uint16(key) + _uint32(items[key]) for key in sorted(items)
    )


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _check_uint32(name: str, value: int) -> None:
    if not 0 <= value <= _UINT32_MAX:
        raise ValueError(f"{name} must fit in an unsigned 32-bit integer, got {value}")


def _check_secret(app_id: str, app_certificate: str) -> None:
    if not app_id or not app_certificate:
        raise ValueError("app id and app certificate must be non-empty")


def _signing_key_007(app_certificate: bytes, issue_ts: int, salt: int) -> bytes:
    key = _hmac_sha256(_uint32(issue_ts), app_certificate)
    return _hmac_sha256(_uint32(salt), key)


def build_token_007(
    app_id: str,
    app_certificate: str,
    user_id: str,
    expire_seconds: int,
    *,
    issued_at: int,
    salt: int,
) -> str:
    """Build an RTM AccessToken2 exactly as Agora's ``RtmTokenBuilder2`` does.

    ``expire_seconds`` is relative to ``issued_at`` (unix seconds) and is written
    both as the token expiry and as the login privilege; ``salt`` is Agora's
    random ``1..99999999`` (any ``uint32`` is accepted). Raises ValueError for an
    empty app id or certificate or out-of-range numbers.
    """
    _check_secret(app_id, app_certificate)
    for name, value in (
        ("expire_seconds", expire_seconds),
        ("issued_at", issued_at),
        ("salt", salt),
    ):
        _check_uint32(name, value)
    rtm_service = (
        _uint16(SERVICE_TYPE_RTM)
        + _map_uint32({PRIVILEGE_RTM_LOGIN_007: expire_seconds})
        + _string(user_id.encode("utf-8"))
    )
    signing_info = (
        _string(app_id.encode("utf-8"))
        + _uint32(issued_at)
        + _uint32(expire_seconds)
        + _uint32(salt)
        + _uint16(1)
        + rtm_service
    )
    key = _signing_key_007(app_certificate.encode("utf-8"), issued_at, salt)
    signature = _hmac_sha256(key, signing_info)
    content = _string(signature) + signing_info
    return VERSION_007 + base64.b64encode(zlib.compress(content)).decode("ascii")


def build_token_006(
    app_id: str,
    app_certificate: str,
    user_id: str,
    privilege_expired_ts: int,
    *,
    ts: int,
    salt: int,
) -> str:
    """Build a legacy RTM AccessToken exactly as ``RtmTokenBuilder.buildToken`` does.

    ``privilege_expired_ts`` is the absolute login-privilege expiry (0: none);
    ``ts`` is the token's own expiry, which Agora's builders set to generation
    time + 24 h (:data:`LEGACY_006_LIFETIME_S`). Raises ValueError for an empty
    app id or certificate or out-of-range numbers.
    """
    _check_secret(app_id, app_certificate)
    for name, value in (
        ("privilege_expired_ts", privilege_expired_ts),
        ("ts", ts),
        ("salt", salt),
    ):
        _check_uint32(name, value)
    channel = user_id.encode("utf-8")
    uid = b""
    message = (
        _uint32(salt) + _uint32(ts) + _map_uint32({PRIVILEGE_RTM_LOGIN_006: privilege_expired_ts})
    )
    signature = _hmac_sha256(
        app_certificate.encode("utf-8"), app_id.encode("utf-8") + channel + uid + message
    )
    content = (
        _string(signature)
        + _uint32(zlib.crc32(channel))
        + _uint32(zlib.crc32(uid))
        + _string(message)
    )
    return VERSION_006 + app_id + base64.b64encode(content).decode("ascii")


def _b64decode_canonical(text: str) -> bytes:
    """Standard padded base64, refusing any spelling the encoder would not produce."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise _MalformedError from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise _MalformedError
    return raw


def _inflate(raw: bytes) -> bytes:
    """One complete zlib stream, at most MAX_007_CONTENT_BYTES once inflated."""
    inflater = zlib.decompressobj()
    try:
        content = inflater.decompress(raw, MAX_007_CONTENT_BYTES + 1)
    except zlib.error as exc:
        raise _MalformedError from exc
    if (
        len(content) > MAX_007_CONTENT_BYTES
        or not inflater.eof
        or inflater.unused_data
        or inflater.unconsumed_tail
    ):
        raise _MalformedError
    return content


def _expiry(*candidates: int) -> int | None:
    """The earliest of the non-zero absolute times, or None when all are 0."""
    times = [t for t in candidates if t != 0]
    return min(times) if times else None


def _verify_006(token: str, app_id: str, certificate: bytes, user: bytes, now: int) -> TokenCheck:
    invalid = TokenCheck(LoginErrCode.INVALID_TOKEN, None, VERSION_006)
    prefix = VERSION_006 + app_id
    if not token.startswith(prefix):
        return invalid
    content = _Reader(_b64decode_canonical(token[len(prefix) :]))
    signature = content.string()
    crc_channel = content.uint32()
    crc_uid = content.uint32()
    message_bytes = content.string()
    if not content.at_end():
        return invalid
    message = _Reader(message_bytes)
    message.uint32()  # salt: only signed, never interpreted
    ts = message.uint32()
    privileges = message.map_uint32()
    if not message.at_end():
        return invalid
    expected = _hmac_sha256(certificate, app_id.encode("utf-8") + user + message_bytes)
    if (
        not hmac.compare_digest(signature, expected)
        or crc_channel != zlib.crc32(user)
        or crc_uid != zlib.crc32(b"")
        or PRIVILEGE_RTM_LOGIN_006 not in privileges
    ):
        return invalid
    privilege = privileges[PRIVILEGE_RTM_LOGIN_006]
    expires_at = _expiry(ts, privilege)
    return _judge(expires_at, now, VERSION_006, expires_at if privilege else None)


def _verify_007(token: str, app_id: str, certificate: bytes, user: bytes, now: int) -> TokenCheck:
    invalid = TokenCheck(LoginErrCode.INVALID_TOKEN, None, VERSION_007)
    content = _Reader(_inflate(_b64decode_canonical(token[len(VERSION_007) :])))
    signature = content.string()
    signing_info = content.rest()
    info = _Reader(signing_info)
    token_app_id = info.string()
    issue_ts = info.uint32()
    expire = info.uint32()
    salt = info.uint32()
    service_count = info.uint16()
    rtm_user: bytes | None = None
    rtm_privileges: dict[int, int] = {}
    for _ in range(service_count):
        service_type = info.uint16()
        privileges = info.map_uint32()
        if service_type == SERVICE_TYPE_RTC:
            info.string()  # channel name
            info.string()  # uid
        elif service_type == SERVICE_TYPE_RTM:
            user_field = info.string()
            if rtm_user is None:
                rtm_user, rtm_privileges = user_field, privileges
        else:
            # Layout unknown to us; builders sort services by type, so no RTM follows.
            break
    expected = _hmac_sha256(_signing_key_007(certificate, issue_ts, salt), signing_info)
    if (
        not hmac.compare_digest(signature, expected)
        or token_app_id != app_id.encode("utf-8")
        or rtm_user is None
        or not hmac.compare_digest(rtm_user, user)
        or PRIVILEGE_RTM_LOGIN_007 not in rtm_privileges
    ):
        return invalid
    lifetime = min(expire, MAX_007_LIFETIME_S)
    privilege = rtm_privileges[PRIVILEGE_RTM_LOGIN_007]
    if privilege != 0:
        lifetime = min(lifetime, privilege)
    expires_at = issue_ts + lifetime
    return _judge(expires_at, now, VERSION_007, expires_at)


def _judge(
    expires_at: int | None, now: int, version: str, session_expires_at: int | None
) -> TokenCheck:
    code = LoginErrCode.OK
    if expires_at is not None and now >= expires_at:
        code = LoginErrCode.TOKEN_EXPIRED
    return TokenCheck(code, expires_at, version, session_expires_at)


def verify_token(
    token: str, app_id: str, app_certificate: str, user_id: str, now: int
) -> TokenCheck:
    """Check an RTM login token ("006" or "007") for this app, certificate and user at ``now``.

    Returns OK, TOKEN_EXPIRED (authentic but past its expiry) or INVALID_TOKEN
    (anything else: wrong signature, app, user or certificate, no login
    privilege, malformed input, or an empty certificate). Never raises.
    """
    version = token[: len(VERSION_006)]
    if version not in (VERSION_006, VERSION_007):
        return TokenCheck(LoginErrCode.INVALID_TOKEN)
    if not app_certificate or len(token) > MAX_TOKEN_CHARS:
        return TokenCheck(LoginErrCode.INVALID_TOKEN, None, version)
    try:
        certificate = app_certificate.encode("utf-8")
        user = user_id.encode("utf-8")
        app_id.encode("utf-8")
    except UnicodeEncodeError:
        return TokenCheck(LoginErrCode.INVALID_TOKEN, None, version)
    check = _verify_006 if version == VERSION_006 else _verify_007
    try:
        return check(token, app_id, certificate, user, now)
    except _MalformedError:
        return TokenCheck(LoginErrCode.INVALID_TOKEN, None, version)
