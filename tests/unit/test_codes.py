"""Agora's enum values (agora-rtm-spec.md sections 1.1, 2 and 5) and our close-code policy."""

from __future__ import annotations

from enum import IntEnum
from itertools import pairwise

import pytest

from rtm_actors.protocol import codes as c

# Every family, member by member, as the spec lists it (prefixes dropped as in codes.py).
SPEC_TABLES: dict[type[IntEnum], dict[str, int]] = {
    c.ConnectionState: {
        "DISCONNECTED": 1,
        "CONNECTING": 2,
        "CONNECTED": 3,
        "RECONNECTING": 4,
        "ABORTED": 5,
    },
    c.ConnectionChangeReason: {
        "LOGIN": 1,
        "LOGIN_SUCCESS": 2,
        "LOGIN_FAILURE": 3,
        "LOGIN_TIMEOUT": 4,
        "INTERRUPTED": 5,
        "LOGOUT": 6,
        "BANNED_BY_SERVER": 7,
        "REMOTE_LOGIN": 8,
        "TOKEN_EXPIRED": 9,
    },
    c.InitErrCode: {
        "OK": 0,
        "FAILURE": 1,
        "ALREADY_INITIALIZED": 2,
        "INVALID_APP_ID": 3,
        "INVALID_ARGUMENT": 4,
    },
    c.LoginErrCode: {
        "OK": 0,
        "UNKNOWN": 1,
        "REJECTED": 2,
        "INVALID_ARGUMENT": 3,
        "INVALID_APP_ID": 4,
        "INVALID_TOKEN": 5,
        "TOKEN_EXPIRED": 6,
        "NOT_AUTHORIZED": 7,
        "ALREADY_LOGGED_IN": 8,
        "TIMEOUT": 9,
        "TOO_OFTEN": 10,
        "NOT_INITIALIZED": 101,
    },
    c.LogoutErrCode: {"OK": 0, "REJECTED": 1, "NOT_INITIALIZED": 101, "USER_NOT_LOGGED_IN": 102},
    c.RenewTokenErrCode: {
        "OK": 0,
        "FAILURE": 1,
        "INVALID_ARGUMENT": 2,
        "REJECTED": 3,
        "TOO_OFTEN": 4,
        "TOKEN_EXPIRED": 5,
        "INVALID_TOKEN": 6,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.PeerMessageErrCode: {
        "OK": 0,
        "FAILURE": 1,
        "SENT_TIMEOUT": 2,
        "PEER_UNREACHABLE": 3,
        "CACHED_BY_SERVER": 4,
        "TOO_OFTEN": 5,
        "INVALID_USERID": 6,
        "INVALID_MESSAGE": 7,
        "IMCOMPATIBLE_MESSAGE": 8,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.JoinChannelErr: {
        "OK": 0,
        "FAILURE": 1,
        "REJECTED": 2,
        "INVALID_ARGUMENT": 3,
        "TIMEOUT": 4,
        "EXCEED_LIMIT": 5,
        "ALREADY_JOINED": 6,
        "TOO_OFTEN": 7,
        "JOIN_SAME_CHANNEL_TOO_OFTEN": 8,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.LeaveChannelErr: {
        "OK": 0,
        "FAILURE": 1,
        "REJECTED": 2,
        "NOT_IN_CHANNEL": 3,
        "KICKED": 4,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.LeaveChannelReason: {"QUIT": 1, "KICKED": 2},
    c.ChannelMessageErrCode: {
        "OK": 0,
        "FAILURE": 1,
        "SENT_TIMEOUT": 2,
        "TOO_OFTEN": 3,
        "INVALID_MESSAGE": 4,
        "NOT_IN_CHANNEL": 5,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.GetMembersErr: {
        "OK": 0,
        "FAILURE": 1,
        "REJECTED": 2,
        "TIMEOUT": 3,
        "TOO_OFTEN": 4,
        "NOT_IN_CHANNEL": 5,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.QueryPeersOnlineStatusErr: {
        "OK": 0,
        "FAILURE": 1,
        "INVALID_ARGUMENT": 2,
        "REJECTED": 3,
        "TIMEOUT": 4,
        "TOO_OFTEN": 5,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.PeerOnlineState: {"ONLINE": 0, "UNREACHABLE": 1, "OFFLINE": 2},
    c.PeerSubscriptionOption: {"ONLINE_STATUS": 0},
    c.PeerSubscriptionStatusErr: {
        "OK": 0,
        "FAILURE": 1,
        "INVALID_ARGUMENT": 2,
        "REJECTED": 3,
        "TIMEOUT": 4,
        "TOO_OFTEN": 5,
        "OVERFLOW": 6,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.QueryPeersBySubscriptionOptionErr: {
        "OK": 0,
        "FAILURE": 1,
        "TIMEOUT": 2,
        "TOO_OFTEN": 3,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.AttributeOperationErr: {
        "OK": 0,
        "NOT_READY": 1,
        "FAILURE": 2,
        "INVALID_ARGUMENT": 3,
        "SIZE_OVERFLOW": 4,
        "TOO_OFTEN": 5,
        "USER_NOT_FOUND": 6,
        "TIMEOUT": 7,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.GetChannelMemberCountErrCode: {
        "OK": 0,
        "FAILURE": 1,
        "INVALID_ARGUMENT": 2,
        "TOO_OFTEN": 3,
        "TIMEOUT": 4,
        "EXCEED_LIMIT": 5,
        "NOT_INITIALIZED": 101,
        "USER_NOT_LOGGED_IN": 102,
    },
    c.InvitationApiCallErrCode: {
        "OK": 0,
        "INVALID_ARGUMENT": 1,
        "NOT_STARTED": 2,
        "ALREADY_END": 3,
        "ALREADY_ACCEPT": 4,
        "ALREADY_SENT": 5,
    },
    c.LocalInvitationState: {
        "IDLE": 0,
        "SENT_TO_REMOTE": 1,
        "RECEIVED_BY_REMOTE": 2,
        "ACCEPTED_BY_REMOTE": 3,
        "REFUSED_BY_REMOTE": 4,
        "CANCELED": 5,
        "FAILURE": 6,
    },
    c.RemoteInvitationState: {
        "IDLE": 0,
        "INVITATION_RECEIVED": 1,
        "ACCEPT_SENT_TO_LOCAL": 2,
        "REFUSED": 3,
        "ACCEPTED": 4,
        "CANCELED": 5,
        "FAILURE": 6,
    },
    c.LocalInvitationErrCode: {
        "OK": 0,
        "PEER_OFFLINE": 1,
        "PEER_NO_RESPONSE": 2,
        "INVITATION_EXPIRE": 3,
        "NOT_LOGGEDIN": 4,
    },
    c.RemoteInvitationErrCode: {
        "OK": 0,
        "PEER_OFFLINE": 1,
        "ACCEPT_FAILURE": 2,
        "INVITATION_EXPIRE": 3,
    },
    c.LogFilter: {
        "OFF": 0,
        "INFO": 0x000F,
        "WARN": 0x000E,
        "ERROR": 0x000C,
        "CRITICAL": 0x0008,
        "MASK": 0x080F,
    },
    c.MessageType: {"UNDEFINED": 0, "TEXT": 1, "RAW": 2, "FILE": 3, "IMAGE": 4},
}


@pytest.mark.parametrize("enum", list(SPEC_TABLES), ids=lambda e: e.__name__)
def test_enum_matches_spec_table(enum: type[IntEnum]) -> None:
    """Each Agora enum has exactly the spec's members with the spec's numeric values."""
    assert {m.name: m.value for m in enum} == SPEC_TABLES[enum]


def test_every_agora_enum_in_codes_is_checked() -> None:
    """No IntEnum in codes.py (other than our DisconnectCode) escapes the spec table above."""
    families = {
        obj
        for obj in vars(c).values()
        if isinstance(obj, type) and issubclass(obj, IntEnum) and obj.__module__ == c.__name__
    }
    assert families - {c.DisconnectCode} == set(SPEC_TABLES)


def test_spot_values() -> None:
    """The values callers most often hard-code are Agora's."""
    assert c.ConnectionState.CONNECTED == 3
    assert c.ConnectionState.ABORTED == 5
    assert c.ConnectionChangeReason.REMOTE_LOGIN == 8
    assert c.ConnectionChangeReason.TOKEN_EXPIRED == 9
    assert c.PeerMessageErrCode.CACHED_BY_SERVER == 4
    assert c.LoginErrCode.TOO_OFTEN == 10
    assert c.LoginErrCode.ALREADY_LOGGED_IN == 8
    assert c.LoginErrCode.TIMEOUT == 9
    assert c.JoinChannelErr.TIMEOUT == 4
    assert c.JoinChannelErr.JOIN_SAME_CHANNEL_TOO_OFTEN == 8
    assert c.LocalInvitationState.ACCEPTED_BY_REMOTE == 3
    assert c.RemoteInvitationState.ACCEPT_SENT_TO_LOCAL == 2


def test_log_filters_are_cumulative_bitmasks() -> None:
    """INFO includes WARN includes ERROR includes CRITICAL, and MASK covers INFO."""
    chain = [c.LogFilter.CRITICAL, c.LogFilter.ERROR, c.LogFilter.WARN, c.LogFilter.INFO]
    for narrower, wider in pairwise(chain):
        assert narrower & wider == narrower
        assert narrower != wider
    assert c.LogFilter.INFO & c.LogFilter.MASK == c.LogFilter.INFO
    assert c.LogFilter.OFF & c.LogFilter.CRITICAL == 0


def test_not_initialized_and_not_logged_in_are_101_and_102_everywhere() -> None:
    """Every family that has the common codes gives them Agora's values 101 and 102."""
    for enum in SPEC_TABLES:
        if "NOT_INITIALIZED" in enum.__members__:
            assert enum["NOT_INITIALIZED"] == 101
        if "USER_NOT_LOGGED_IN" in enum.__members__:
            assert enum["USER_NOT_LOGGED_IN"] == 102


@pytest.mark.parametrize("code", list(c.DisconnectCode), ids=lambda d: d.name)
def test_disconnect_code_reconnect_policy_follows_its_range(code: c.DisconnectCode) -> None:
    """Close codes 3000-3499 ask the client to reconnect; 3500-3999 are terminal."""
    assert 3000 <= code <= 3999
    assert code.should_reconnect is (code < 3500)


def test_disconnect_code_policy_spot_checks() -> None:
    """Transient closes reconnect; kicks, bans, bad input and logouts do not."""
    transient = {
        c.DisconnectCode.SHUTDOWN,
        c.DisconnectCode.SLOW_CONSUMER,
        c.DisconnectCode.STALE,
        c.DisconnectCode.INTERNAL_ERROR,
    }
    assert {d for d in c.DisconnectCode if d.should_reconnect} == transient
    for terminal in (
        c.DisconnectCode.REMOTE_LOGIN,
        c.DisconnectCode.BANNED,
        c.DisconnectCode.PROTOCOL_ERROR,
        c.DisconnectCode.LOGGED_OUT,
        c.DisconnectCode.TOKEN_EXPIRED,
        c.DisconnectCode.MESSAGE_TOO_BIG,
        c.DisconnectCode.LOGIN_FAILED,
    ):
        assert not terminal.should_reconnect


def test_disconnect_codes_are_distinct() -> None:
    """No two close codes share a number (an alias would hide a member)."""
    assert len(c.DisconnectCode.__members__) == len({d.value for d in c.DisconnectCode})
