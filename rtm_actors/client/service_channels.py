"""RtmService's channel methods (a mixin), and the port a ``Channel`` talks to."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rtm_actors.client import messages as cm
from rtm_actors.client.channel import Channel, ClientChannelActor
from rtm_actors.client.channel_requests import (
    ChannelAttributeWriteRequest,
    GetChannelAttributesRequest,
    MemberCountRequest,
)
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.handlers import ChannelEventHandler
from rtm_actors.client.requests import (
    Request,
)
from rtm_actors.client.states import SENDING_STATES
from rtm_actors.client.values import (
    ChannelAttribute,
    ChannelAttributeOptions,
)
from rtm_actors.protocol import codec
from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.channel import MAX_COUNT_CHANNELS
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    GetChannelMemberCountErrCode,
)
from rtm_actors.protocol.frames import (
    ChannelAttributesWrite,
    GetChannelAttributes,
    GetChannelMemberCount,
)
from rtm_actors.protocol.limits import (
    is_valid_channel_id,
)
from rtm_actors.runtime.timers import fresh_now

if TYPE_CHECKING:
    import pykka

    from rtm_actors.client.dispatcher import EventDispatcher
    from rtm_actors.client.service import RtmService
    from rtm_actors.client.service_actor import RtmServiceActor

_CHANNEL_ATTRIBUTE_CALLBACKS = {
    AttributeOp.SET: "on_set_channel_attributes_result",
    AttributeOp.ADD_OR_UPDATE: "on_add_or_update_channel_attributes_result",
    AttributeOp.DELETE: "on_delete_channel_attributes_result",
    AttributeOp.CLEAR: "on_clear_channel_attributes_result",
}


class ChannelMethods:
    """Channels, channel attributes and member counts."""

    _actor: pykka.ActorRef[RtmServiceActor] | None
    _config: ClientConfig
    _call: Callable[..., RtmFuture[Any]]
    _dispatcher: pykka.ActorRef[EventDispatcher] | None
    _channel_objects: dict[str, Channel]
    _port: ChannelPort

    # -- channels --------------------------------------------------------------------

    def create_channel(self, channel_id: str, event_handler: ChannelEventHandler) -> Channel | None:
        """A ``Channel`` object (no network yet): the existing one for this id, if any.

        Answers None for an invalid channel id or a missing handler, as Agora does.
        """
        if self._actor is None or not is_valid_channel_id(channel_id) or event_handler is None:
            return None
        existing = self._channel_objects.get(channel_id)
        if existing is not None:
            return existing
        actor = ClientChannelActor.start(channel_id, event_handler, self._dispatcher)
        self._actor.tell(cm.ChannelCreated(channel_id, event_handler, actor))
        channel = Channel(self._port, channel_id, event_handler, actor)
        self._channel_objects[channel_id] = channel
        return channel

    def get_channel_member_count(self, channel_ids: Sequence[str]) -> RtmFuture[dict[str, int]]:
        """Member counts of up to 32 channels (0 for a channel nobody is in); no join needed."""
        ids = tuple(channel_ids) if not isinstance(channel_ids, str) else ()
        valid = bool(ids) and all(is_valid_channel_id(c) for c in ids)
        return self._call(
            MemberCountRequest,
            GetChannelMemberCountErrCode,
            lambda rid: GetChannelMemberCount(rid, list(ids)),
            self._config.request_timeout,
            valid=valid and len(ids) <= MAX_COUNT_CHANNELS,
            invalid=GetChannelMemberCountErrCode.EXCEED_LIMIT
            if len(ids) > MAX_COUNT_CHANNELS
            else GetChannelMemberCountErrCode.INVALID_ARGUMENT,
            failure=lambda rid, code: ("on_get_channel_member_count_result", (rid, {}, code)),
            channel_ids=ids,
        )

    def set_channel_attributes(
        self,
        channel_id: str,
        attributes: Mapping[str, str],
        options: ChannelAttributeOptions | None = None,
    ) -> RtmFuture[None]:
        """Replace a channel's attributes (no membership needed)."""
        return self._channel_write(channel_id, AttributeOp.SET, options, attributes=attributes)

    def add_or_update_channel_attributes(
        self,
        channel_id: str,
        attributes: Mapping[str, str],
        options: ChannelAttributeOptions | None = None,
    ) -> RtmFuture[None]:
        """Add or update some of a channel's attributes."""
        return self._channel_write(
            channel_id, AttributeOp.ADD_OR_UPDATE, options, attributes=attributes
        )

    def delete_channel_attributes_by_keys(
        self, channel_id: str, keys: Sequence[str], options: ChannelAttributeOptions | None = None
    ) -> RtmFuture[None]:
        """Delete some of a channel's attributes by key."""
        return self._channel_write(channel_id, AttributeOp.DELETE, options, keys=keys)

    def clear_channel_attributes(
        self, channel_id: str, options: ChannelAttributeOptions | None = None
    ) -> RtmFuture[None]:
        """Delete all of a channel's attributes."""
        return self._channel_write(channel_id, AttributeOp.CLEAR, options)

    def _channel_write(
        self,
        channel_id: str,
        op: AttributeOp,
        options: ChannelAttributeOptions | None,
        attributes: Mapping[str, str] | None = None,
        keys: Sequence[str] | None = None,
    ) -> RtmFuture[None]:
        attrs = dict(attributes or {})
        key_list = list(keys) if keys is not None and not isinstance(keys, str) else []
        notify = bool(options and options.enable_notification_to_channel_members)
        callback = _CHANNEL_ATTRIBUTE_CALLBACKS[op]
        valid = is_valid_channel_id(channel_id) and all(
            isinstance(x, str) for x in [*attrs, *attrs.values(), *key_list]
        )
        return self._call(
            ChannelAttributeWriteRequest,
            AttributeOperationErr,
            lambda rid: ChannelAttributesWrite(rid, channel_id, op.value, attrs, key_list, notify),
            self._config.request_timeout,
            valid=valid,
            failure=lambda rid, code: (callback, (rid, code)),
            callback=callback,
            channel_id=channel_id if isinstance(channel_id, str) else "",
        )

    def get_channel_attributes(self, channel_id: str) -> RtmFuture[list[ChannelAttribute]]:
        """Every attribute of a channel, with who wrote it and when."""
        return self._channel_read(channel_id, None)

    def get_channel_attributes_by_keys(
        self, channel_id: str, keys: Sequence[str]
    ) -> RtmFuture[list[ChannelAttribute]]:
        """Some attributes of a channel, by key."""
        return self._channel_read(channel_id, list(keys) if not isinstance(keys, str) else None)

    def _channel_read(
        self, channel_id: str, keys: list[str] | None
    ) -> RtmFuture[list[ChannelAttribute]]:
        return self._call(
            GetChannelAttributesRequest,
            AttributeOperationErr,
            lambda rid: GetChannelAttributes(rid, channel_id, keys),
            self._config.request_timeout,
            valid=is_valid_channel_id(channel_id),
            failure=lambda rid, code: ("on_get_channel_attributes_result", (rid, [], code)),
            channel_id=channel_id if isinstance(channel_id, str) else "",
        )


class ChannelPort:
    """What a ``Channel`` needs from its ``RtmService`` (internal to the SDK)."""

    def __init__(self, service: RtmService) -> None:
        self._service = service

    @property
    def config(self) -> ClientConfig:
        """The service's timings."""
        return self._service._config

    def check(self, codes: Any) -> Any:
        """Agora's common local checks: initialised, logged in."""
        service = self._service
        if service._actor is None:
            return codes.NOT_INITIALIZED
        if service.connection_state not in SENDING_STATES:
            return codes.USER_NOT_LOGGED_IN
        return None

    def request(
        self, kind: type[Request], make_frame: Callable[[int], Any], timeout: float, **fields: Any
    ) -> RtmFuture[Any]:
        """Send a channel request through the service actor."""
        service = self._service
        rid = next(service._rids)
        request = kind(
            rid, codec.encode(make_frame(rid)), RtmFuture(), fresh_now() + timeout, **fields
        )
        service._submit(request)
        return request.future

    def notify(self, handler: Any, method: str, *args: Any) -> None:
        """Fire a channel callback on the service's callback greenlet."""
        if self._service._dispatcher is not None:
            self._service._dispatcher.tell(cm.Callback(handler, method, args))

    def forget(self, channel_id: str, actor: pykka.ActorRef[ClientChannelActor]) -> None:
        """The channel object was released: the service actor leaves the channel if
        it was joined, and stops the channel's actor."""
        service = self._service
        if service._channel_objects.get(channel_id) is not None:
            del service._channel_objects[channel_id]
        if service._actor is not None:
            service._actor.tell(cm.ChannelReleased(channel_id, actor))
        else:
            actor.stop(block=False)
