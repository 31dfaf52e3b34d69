"""rtm_actors: self-hostable real-time messaging with the Agora RTM API, on gevent.

Names are exported lazily (PEP 562), so ``import rtm_actors.protocol`` stays free of
gevent and pykka, and importing the package never monkey-patches anything.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtm_actors.client import (
        AgoraService as AgoraService,
        Channel as Channel,
        ChannelAttribute as ChannelAttribute,
        ChannelAttributeOptions as ChannelAttributeOptions,
        ChannelEventHandler as ChannelEventHandler,
        ChannelMember as ChannelMember,
        ClientConfig as ClientConfig,
        LocalCallInvitation as LocalCallInvitation,
        Message as Message,
        RemoteCallInvitation as RemoteCallInvitation,
        RtmCallEventHandler as RtmCallEventHandler,
        RtmCallManager as RtmCallManager,
        RtmFuture as RtmFuture,
        RtmService as RtmService,
        RtmServiceEventHandler as RtmServiceEventHandler,
        SendMessageOptions as SendMessageOptions,
        create_agora_service as create_agora_service,
        get_agora_sdk_version as get_agora_sdk_version,
    )
    from rtm_actors.errors import (
        RequestError as RequestError,
        RtmError as RtmError,
        RtmTimeoutError as RtmTimeoutError,
    )
    from rtm_actors.protocol.codes import (
        AttributeOperationErr as AttributeOperationErr,
        ChannelMessageErrCode as ChannelMessageErrCode,
        ConnectionChangeReason as ConnectionChangeReason,
        ConnectionState as ConnectionState,
        GetChannelMemberCountErrCode as GetChannelMemberCountErrCode,
        GetMembersErr as GetMembersErr,
        InitErrCode as InitErrCode,
        InvitationApiCallErrCode as InvitationApiCallErrCode,
        JoinChannelErr as JoinChannelErr,
        LeaveChannelErr as LeaveChannelErr,
        LeaveChannelReason as LeaveChannelReason,
        LocalInvitationErrCode as LocalInvitationErrCode,
        LocalInvitationState as LocalInvitationState,
        LogFilter as LogFilter,
        LoginErrCode as LoginErrCode,
        LogoutErrCode as LogoutErrCode,
        MessageType as MessageType,
        PeerMessageErrCode as PeerMessageErrCode,
        PeerOnlineState as PeerOnlineState,
        PeerSubscriptionOption as PeerSubscriptionOption,
        PeerSubscriptionStatusErr as PeerSubscriptionStatusErr,
        QueryPeersBySubscriptionOptionErr as QueryPeersBySubscriptionOptionErr,
        QueryPeersOnlineStatusErr as QueryPeersOnlineStatusErr,
        RemoteInvitationErrCode as RemoteInvitationErrCode,
        RemoteInvitationState as RemoteInvitationState,
        RenewTokenErrCode as RenewTokenErrCode,
    )

_EXPORTS = {
    "AgoraService": "rtm_actors.client",
    "Channel": "rtm_actors.client",
    "ChannelAttribute": "rtm_actors.client",
    "ChannelAttributeOptions": "rtm_actors.client",
    "ChannelEventHandler": "rtm_actors.client",
    "ChannelMember": "rtm_actors.client",
    "ClientConfig": "rtm_actors.client",
    "LocalCallInvitation": "rtm_actors.client",
    "RemoteCallInvitation": "rtm_actors.client",
    "RtmCallEventHandler": "rtm_actors.client",
    "RtmCallManager": "rtm_actors.client",
    "Message": "rtm_actors.client",
    "RtmFuture": "rtm_actors.client",
    "RtmService": "rtm_actors.client",
    "RtmServiceEventHandler": "rtm_actors.client",
    "SendMessageOptions": "rtm_actors.client",
    "create_agora_service": "rtm_actors.client",
    "get_agora_sdk_version": "rtm_actors.client",
    "RequestError": "rtm_actors.errors",
    "RtmError": "rtm_actors.errors",
    "RtmTimeoutError": "rtm_actors.errors",
    **dict.fromkeys(
        [
            "AttributeOperationErr",
            "ChannelMessageErrCode",
            "ConnectionChangeReason",
            "ConnectionState",
            "GetChannelMemberCountErrCode",
            "GetMembersErr",
            "InitErrCode",
            "InvitationApiCallErrCode",
            "JoinChannelErr",
            "LeaveChannelErr",
            "LeaveChannelReason",
            "LocalInvitationErrCode",
            "LocalInvitationState",
            "LogFilter",
            "LoginErrCode",
            "LogoutErrCode",
            "MessageType",
            "PeerMessageErrCode",
            "PeerOnlineState",
            "PeerSubscriptionOption",
            "PeerSubscriptionStatusErr",
            "QueryPeersBySubscriptionOptionErr",
            "QueryPeersOnlineStatusErr",
            "RemoteInvitationErrCode",
            "RemoteInvitationState",
            "RenewTokenErrCode",
        ],
        "rtm_actors.protocol.codes",
    ),
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("rtm-actors")
        except PackageNotFoundError:
            return "0+unknown"
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'rtm_actors' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
