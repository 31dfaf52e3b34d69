"""Agora RTM 1.x enums with Agora's numeric values, plus our wire-level close codes.

Pure data: member names drop Agora's family prefix (``LOGIN_ERR_TIMEOUT`` is
``LoginErrCode.TIMEOUT``); values are Agora's (agora-rtm-spec.md, section 2).
"""

from __future__ import annotations

from enum import IntEnum


class ConnectionState(IntEnum):
    """``CONNECTION_STATE``: where a client's link to the RTM system stands."""

    DISCONNECTED = 1
    CONNECTING = 2
    CONNECTED = 3
    RECONNECTING = 4
    ABORTED = 5


class ConnectionChangeReason(IntEnum):
    """``CONNECTION_CHANGE_REASON``: why the connection state changed."""

    LOGIN = 1
    LOGIN_SUCCESS = 2
    LOGIN_FAILURE = 3
    LOGIN_TIMEOUT = 4
    INTERRUPTED = 5
    LOGOUT = 6
    BANNED_BY_SERVER = 7
    REMOTE_LOGIN = 8
    TOKEN_EXPIRED = 9


class InitErrCode(IntEnum):
    """``INIT_ERR_CODE``."""

    OK = 0
    FAILURE = 1
    ALREADY_INITIALIZED = 2
    INVALID_APP_ID = 3
    INVALID_ARGUMENT = 4


class LoginErrCode(IntEnum):
    """``LOGIN_ERR_CODE``."""

    OK = 0
    UNKNOWN = 1
    REJECTED = 2
    INVALID_ARGUMENT = 3
    INVALID_APP_ID = 4
    INVALID_TOKEN = 5
    TOKEN_EXPIRED = 6
    NOT_AUTHORIZED = 7
    ALREADY_LOGGED_IN = 8
    TIMEOUT = 9
    TOO_OFTEN = 10
    NOT_INITIALIZED = 101


class LogoutErrCode(IntEnum):
    """``LOGOUT_ERR_CODE``."""

    OK = 0
    REJECTED = 1
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class RenewTokenErrCode(IntEnum):
    """``RENEW_TOKEN_ERR_CODE``."""

    OK = 0
    FAILURE = 1
    INVALID_ARGUMENT = 2
    REJECTED = 3
    TOO_OFTEN = 4
    TOKEN_EXPIRED = 5
    INVALID_TOKEN = 6
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class PeerMessageErrCode(IntEnum):
    """``PEER_MESSAGE_ERR_CODE``: the outcome of ``send_message_to_peer``."""

    OK = 0
    FAILURE = 1
    SENT_TIMEOUT = 2
    PEER_UNREACHABLE = 3
    CACHED_BY_SERVER = 4
    TOO_OFTEN = 5
    INVALID_USERID = 6
    INVALID_MESSAGE = 7
    IMCOMPATIBLE_MESSAGE = 8
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class JoinChannelErr(IntEnum):
    """``JOIN_CHANNEL_ERR``."""

    OK = 0
    FAILURE = 1
    REJECTED = 2
    INVALID_ARGUMENT = 3
    TIMEOUT = 4
    EXCEED_LIMIT = 5
    ALREADY_JOINED = 6
    TOO_OFTEN = 7
    JOIN_SAME_CHANNEL_TOO_OFTEN = 8
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class LeaveChannelErr(IntEnum):
    """``LEAVE_CHANNEL_ERR``."""

    OK = 0
    FAILURE = 1
    REJECTED = 2
    NOT_IN_CHANNEL = 3
    KICKED = 4
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class LeaveChannelReason(IntEnum):
    """``LEAVE_CHANNEL_REASON`` (reserved by Agora; carried for completeness)."""

    QUIT = 1
    KICKED = 2


class ChannelMessageErrCode(IntEnum):
    """``CHANNEL_MESSAGE_ERR_CODE``."""

    OK = 0
    FAILURE = 1
    SENT_TIMEOUT = 2
    TOO_OFTEN = 3
    INVALID_MESSAGE = 4
    NOT_IN_CHANNEL = 5
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class GetMembersErr(IntEnum):
    """``GET_MEMBERS_ERR``."""

    OK = 0
    FAILURE = 1
    REJECTED = 2
    TIMEOUT = 3
    TOO_OFTEN = 4
    NOT_IN_CHANNEL = 5
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class QueryPeersOnlineStatusErr(IntEnum):
    """``QUERY_PEERS_ONLINE_STATUS_ERR``."""

    OK = 0
    FAILURE = 1
    INVALID_ARGUMENT = 2
    REJECTED = 3
    TIMEOUT = 4
    TOO_OFTEN = 5
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class PeerOnlineState(IntEnum):
    """``PEER_ONLINE_STATE``."""

    ONLINE = 0
    UNREACHABLE = 1
    OFFLINE = 2


class PeerSubscriptionOption(IntEnum):
    """``PEER_SUBSCRIPTION_OPTION``."""

    ONLINE_STATUS = 0


class PeerSubscriptionStatusErr(IntEnum):
    """``PEER_SUBSCRIPTION_STATUS_ERR``."""

    OK = 0
    FAILURE = 1
    INVALID_ARGUMENT = 2
    REJECTED = 3
    TIMEOUT = 4
    TOO_OFTEN = 5
    OVERFLOW = 6
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class QueryPeersBySubscriptionOptionErr(IntEnum):
    """``QUERY_PEERS_BY_SUBSCRIPTION_OPTION_ERR``."""

    OK = 0
    FAILURE = 1
    TIMEOUT = 2
    TOO_OFTEN = 3
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class AttributeOperationErr(IntEnum):
    """``ATTRIBUTE_OPERATION_ERR``: user and channel attributes share it."""

    OK = 0
    NOT_READY = 1
    FAILURE = 2
    INVALID_ARGUMENT = 3
    SIZE_OVERFLOW = 4
    TOO_OFTEN = 5
    USER_NOT_FOUND = 6
    TIMEOUT = 7
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class GetChannelMemberCountErrCode(IntEnum):
    """``GET_CHANNEL_MEMBER_COUNT_ERR_CODE``."""

    OK = 0
    FAILURE = 1
    INVALID_ARGUMENT = 2
    TOO_OFTEN = 3
    TIMEOUT = 4
    EXCEED_LIMIT = 5
    NOT_INITIALIZED = 101
    USER_NOT_LOGGED_IN = 102


class InvitationApiCallErrCode(IntEnum):
    """``INVITATION_API_CALL_ERR_CODE``: synchronous result of the call-manager methods."""

    OK = 0
    INVALID_ARGUMENT = 1
    NOT_STARTED = 2
    ALREADY_END = 3
    ALREADY_ACCEPT = 4
    ALREADY_SENT = 5


class LocalInvitationState(IntEnum):
    """``LOCAL_INVITATION_STATE``: the caller's view of an invitation."""

    IDLE = 0
    SENT_TO_REMOTE = 1
    RECEIVED_BY_REMOTE = 2
    ACCEPTED_BY_REMOTE = 3
    REFUSED_BY_REMOTE = 4
    CANCELED = 5
    FAILURE = 6


class RemoteInvitationState(IntEnum):
    """``REMOTE_INVITATION_STATE``: the callee's view of an invitation."""

    IDLE = 0
    INVITATION_RECEIVED = 1
    ACCEPT_SENT_TO_LOCAL = 2
    REFUSED = 3
    ACCEPTED = 4
    CANCELED = 5
    FAILURE = 6


class LocalInvitationErrCode(IntEnum):
    """``LOCAL_INVITATION_ERR_CODE``: why a caller's invitation failed."""

    OK = 0
    PEER_OFFLINE = 1
    PEER_NO_RESPONSE = 2
    INVITATION_EXPIRE = 3
    NOT_LOGGEDIN = 4


class RemoteInvitationErrCode(IntEnum):
    """``REMOTE_INVITATION_ERR_CODE``: why a callee's invitation failed."""

    OK = 0
    PEER_OFFLINE = 1
    ACCEPT_FAILURE = 2
    INVITATION_EXPIRE = 3


class LogFilter(IntEnum):
    """``LOG_FILTER_TYPE``: cumulative bitmasks (INFO includes WARN includes ...)."""

    OFF = 0
    INFO = 0x000F
    WARN = 0x000E
    ERROR = 0x000C
    CRITICAL = 0x0008
    MASK = 0x080F


class MessageType(IntEnum):
    """``MESSAGE_TYPE``."""

    UNDEFINED = 0
    TEXT = 1
    RAW = 2
    FILE = 3
    IMAGE = 4


class DisconnectCode(IntEnum):
    """Websocket close codes the server uses; the range is the reconnect policy.

    3000-3499: the client should reconnect (transient: shutdown, slow, stale link).
    3500-3999: terminal, the client must not reconnect by itself (kicked, bad input).
    The ``reason`` in the close frame is a short human-readable text.
    """

    SHUTDOWN = 3001
    SLOW_CONSUMER = 3008
    STALE = 3009
    INTERNAL_ERROR = 3010
    REMOTE_LOGIN = 3500
    BANNED = 3501
    PROTOCOL_ERROR = 3502
    LOGGED_OUT = 3503
    TOKEN_EXPIRED = 3504
    MESSAGE_TOO_BIG = 3505
    LOGIN_FAILED = 3506

    @property
    def should_reconnect(self) -> bool:
        """Whether a client that sees this close code reconnects by itself."""
        return 3000 <= self < 3500
