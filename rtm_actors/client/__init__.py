"""The client SDK: Agora RTM's API in snake_case, on actors."""

from rtm_actors.client.calls import LocalCallInvitation, RemoteCallInvitation, RtmCallManager
from rtm_actors.client.channel import Channel
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.handlers import (
    ChannelEventHandler,
    RtmCallEventHandler,
    RtmServiceEventHandler,
)
from rtm_actors.client.service import (
    AgoraService,
    RtmService,
    create_agora_service,
    get_agora_sdk_version,
)
from rtm_actors.client.values import (
    ChannelAttribute,
    ChannelAttributeOptions,
    ChannelMember,
    Message,
    SendMessageOptions,
)

__all__ = [
    "AgoraService",
    "Channel",
    "ChannelAttribute",
    "ChannelAttributeOptions",
    "ChannelEventHandler",
    "ChannelMember",
    "ClientConfig",
    "LocalCallInvitation",
    "Message",
    "RemoteCallInvitation",
    "RtmCallEventHandler",
    "RtmCallManager",
    "RtmFuture",
    "RtmService",
    "RtmServiceEventHandler",
    "SendMessageOptions",
    "create_agora_service",
    "get_agora_sdk_version",
]
