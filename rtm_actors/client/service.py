"""The SDK's entry points: ``AgoraService`` and ``RtmService`` (Agora's names in snake_case).

Facades only: each method checks what Agora checks locally, then tells an actor and
returns an ``RtmFuture``. A call refused locally never raises: it returns an
already-failed future and fires the failure callback, as Agora's SDK does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any

import msgspec
import structlog

from rtm_actors.client import messages as cm
from rtm_actors.client.calls import RtmCallManager
from rtm_actors.client.channel import Channel, ChannelActor
from rtm_actors.client.channel_requests import (
    ChannelAttributeWriteRequest,
    ChannelState,
    GetChannelAttributesRequest,
    MemberCountRequest,
)
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.dispatcher import Callback, EventDispatcher
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.handlers import ChannelEventHandler, RtmCallEventHandler
from rtm_actors.client.parameters import parse_parameters
from rtm_actors.client.requests import (
    AttributeWriteRequest,
    GetAttributesRequest,
    PeerMessageRequest,
    QueryPresenceRequest,
    QuerySubscriptionsRequest,
    RenewTokenRequest,
    Request,
    SubscriptionRequest,
)
from rtm_actors.client.sdk_log import ParameterErr, SdkLog
from rtm_actors.client.service_actor import RtmServiceActor, new_rid_counter
from rtm_actors.client.supervisor import ConnectionSupervisor, StateBox
from rtm_actors.client.values import (
    ChannelAttribute,
    ChannelAttributeOptions,
    Message,
    MessageIds,
    SendMessageOptions,
)
from rtm_actors.protocol import codec
from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.channel import MAX_COUNT_CHANNELS
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    ConnectionState,
    GetChannelMemberCountErrCode,
    InitErrCode,
    LoginErrCode,
    LogoutErrCode,
    MessageType,
    PeerMessageErrCode,
    PeerOnlineState,
    PeerSubscriptionOption,
    PeerSubscriptionStatusErr,
    QueryPeersBySubscriptionOptionErr,
    QueryPeersOnlineStatusErr,
    RenewTokenErrCode,
)
from rtm_actors.protocol.flow import RateLimiter
from rtm_actors.protocol.frames import (
    AddOrUpdateLocalAttributes,
    ChannelAttributesWrite,
    ClearLocalAttributes,
    DeleteLocalAttributes,
    GetChannelAttributes,
    GetChannelMemberCount,
    GetUserAttributes,
    QueryPresence,
    QuerySubscriptions,
    RenewToken,
    SendPeerMessage,
    SetLocalAttributes,
    Subscribe,
    Unsubscribe,
)
from rtm_actors.protocol.limits import (
    is_valid_app_id,
    is_valid_channel_id,
    is_valid_message,
    is_valid_user_id,
)
from rtm_actors.protocol.presence import MAX_QUERY_PEERS, MAX_SUBSCRIBED_PEERS, valid_peer_list
from rtm_actors.runtime import now

log = structlog.get_logger("rtm_actors.client")

DEFAULT_SERVER_URL = "ws://127.0.0.1:8700/rtm"
_SENDING_STATES = (ConnectionState.CONNECTED, ConnectionState.RECONNECTING)


def get_agora_sdk_version() -> str:
    """Agora's ``getAgoraSdkVersion``: this SDK's version and the API it follows."""
    try:
        version = metadata.version("rtm-actors")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"rtm_actors {version} (Agora RTM 1.4 API)"


class RtmService:
    """Agora ``IRtmService``: one logged-in user's client.

    Create it with ``create_agora_service().create_rtm_service()``, then
    ``initialize(app_id, handler)`` and ``login(token, user_id)``.
    """

    def __init__(self) -> None:
        self._app_id = ""
        self._handler: Any = None
        self._box = StateBox()
        self._dispatcher: Any = None
        self._actor: Any = None
        self._supervisor: Any = None
        self._ids = MessageIds()
        self._rids = new_rid_counter()
        self._config = ClientConfig()
        self._channel_objects: dict[str, Channel] = {}
        self._port = ChannelPort(self)
        self._login_rate = RateLimiter(2, 1.0)
        self._renew_rate = RateLimiter(2, 1.0)
        #: This service's own log (file, filter, size); see ``set_log_file``.
        self._sdk_log = SdkLog()
        self._log = self._sdk_log.logger()
        #: ``rtm.server_url`` from ``set_parameters``, if given.
        self._url: str | None = None

    # -- set-up --------------------------------------------------------------------

    def initialize(
        self,
        app_id: str,
        event_handler: Any,
        *,
        server_url: str | None = None,
        config: ClientConfig | None = None,
    ) -> int:
        """Set the app id and event handler and start the client's actors.

        Args:
            app_id: the app id (Agora's are 32 hex characters).
            event_handler: an ``RtmServiceEventHandler``.
            server_url: the server; default ``$RTM_ACTORS_SERVER_URL``, else
                ``ws://127.0.0.1:8700/rtm``.
            config: timings (``ClientConfig``); Agora's values by default.

        Returns:
            0 on success, else an ``InitErrCode``.
        """
        if self._actor is not None:
            return InitErrCode.ALREADY_INITIALIZED
        if not is_valid_app_id(app_id):
            return InitErrCode.INVALID_APP_ID
        if event_handler is None:
            return InitErrCode.INVALID_ARGUMENT
        # (Parameters set before initialize apply unless a config is given here.)
        config = config or self._config
        url = (
            server_url or self._url or os.environ.get("RTM_ACTORS_SERVER_URL") or DEFAULT_SERVER_URL
        )
        self._app_id = app_id
        self._url = url
        self._handler = event_handler
        self._dispatcher = EventDispatcher.start()
        self._config = config
        self._sdk_log.context["app_id"] = app_id
        logger = self._sdk_log.logger()
        self._actor = RtmServiceActor.start(
            event_handler, self._dispatcher, config, self._rids, logger
        )
        self._supervisor = ConnectionSupervisor.start(
            app_id, url, event_handler, self._dispatcher, self._actor, config, self._box, logger
        )
        self._actor.tell(cm.SetSupervisor(self._supervisor))
        return InitErrCode.OK

    def release(self) -> None:
        """Log out if needed and stop this client's actors."""
        if self._actor is None:
            return
        # The supervisor logs out first; callbacks already queued still run.
        self._supervisor.tell(cm.Release())
        self._actor.stop(block=False)
        self._dispatcher.stop(block=False)
        self._actor = self._supervisor = self._dispatcher = None

    @property
    def connection_state(self) -> ConnectionState:
        """The current ``ConnectionState`` (read-only)."""
        return self._box.state

    # -- login -----------------------------------------------------------------------

    def login(self, token: str | None, user_id: str) -> RtmFuture[None]:
        """Log in as ``user_id``; ``on_login_success`` or ``on_login_failure`` follows."""
        code = self._login_check(user_id)
        if code is not None:
            self._log.warning("login_refused", code=code.name)
            self._notify("on_login_failure", code)
            return RtmFuture.failed_with(code, "login")
        self._sdk_log.context["user_id"] = user_id
        future: RtmFuture[None] = RtmFuture()
        self._supervisor.tell(cm.StartLogin(token or "", user_id, future))
        return future

    def _login_check(self, user_id: str) -> LoginErrCode | None:
        if self._supervisor is None:
            return LoginErrCode.NOT_INITIALIZED
        if not self._login_rate.allow(now()):
            return LoginErrCode.TOO_OFTEN
        if self._box.state is not ConnectionState.DISCONNECTED:
            return LoginErrCode.ALREADY_LOGGED_IN
        if not is_valid_user_id(user_id):
            return LoginErrCode.INVALID_ARGUMENT
        return None

    def logout(self) -> RtmFuture[None]:
        """Log out; ``on_logout`` follows."""
        if self._supervisor is None:
            return RtmFuture.failed_with(LogoutErrCode.NOT_INITIALIZED, "logout")
        future: RtmFuture[None] = RtmFuture()
        self._supervisor.tell(cm.StartLogout(future))
        return future

    def renew_token(self, token: str) -> RtmFuture[str]:
        """Use ``token`` from now on (for reconnects); ``on_renew_token_result`` follows."""
        code: RenewTokenErrCode | None = None
        if self._supervisor is None:
            code = RenewTokenErrCode.NOT_INITIALIZED
        elif not token:
            code = RenewTokenErrCode.INVALID_ARGUMENT
        elif not self._renew_rate.allow(now()):
            code = RenewTokenErrCode.TOO_OFTEN
        if code is not None:
            self._notify("on_renew_token_result", token, code)
            return RtmFuture.failed_with(code, "renew_token")
        future: RtmFuture[str] = RtmFuture()
        if self._box.state is ConnectionState.CONNECTED:
            # The server checks it and moves the session's expiry; the supervisor keeps
            # it for later reconnects either way.
            self._supervisor.tell(cm.RenewToken(token, RtmFuture()))
            return self._send_frame_request(RenewTokenRequest, RenewToken(0, token), token=token)
        self._supervisor.tell(cm.RenewToken(token, future))
        return future

    # -- peer messages ---------------------------------------------------------------

    def create_message(self, text: str = "", *, raw: bytes | None = None) -> Message:
        """A new message with a fresh id: text, or raw bytes (with ``text`` as description)."""
        kind = MessageType.RAW if raw is not None else MessageType.TEXT
        return Message(self._ids.next(), text, raw, kind)

    def send_message_to_peer(
        self, peer_id: str, message: Message, options: SendMessageOptions | None = None
    ) -> RtmFuture[PeerMessageErrCode]:
        """Send ``message`` to ``peer_id``.

        The future gives ``OK`` once the peer's SDK has the message, or
        ``CACHED_BY_SERVER`` when the peer is offline and ``options`` asked for
        offline messaging; any other outcome raises ``RtmError`` with the code.
        ``on_send_message_result(message_id, code)`` fires in every case.
        """
        code = self._send_check(peer_id, message)
        if code is not None:
            self._notify("on_send_message_result", getattr(message, "message_id", 0), code)
            return RtmFuture.failed_with(code, "send_message_to_peer")
        offline = (options or SendMessageOptions()).enable_offline_messaging
        rid = next(self._rids)
        frame = SendPeerMessage(rid, peer_id, message.to_wire(), offline=offline)
        request = PeerMessageRequest(
            rid,
            codec.encode(frame),
            RtmFuture(),  # Agora gives peer messages a message id, not a request id
            now() + self._config.peer_message_timeout,
            message_id=message.message_id,
        )
        self._actor.tell(request)
        return request.future

    def _send_check(self, peer_id: str, message: Message) -> PeerMessageErrCode | None:
        if self._actor is None:
            return PeerMessageErrCode.NOT_INITIALIZED
        if self._box.state not in _SENDING_STATES:
            return PeerMessageErrCode.USER_NOT_LOGGED_IN
        if not is_valid_user_id(peer_id):
            return PeerMessageErrCode.INVALID_USERID
        if not isinstance(message, Message) or not is_valid_message(
            message.text, message.raw_message
        ):
            return PeerMessageErrCode.INVALID_MESSAGE
        return None

    # -- presence ------------------------------------------------------------------

    def query_peers_online_status(
        self, peer_ids: Sequence[str]
    ) -> RtmFuture[dict[str, PeerOnlineState]]:
        """Online state of up to 256 users (``ONLINE`` or ``OFFLINE``), in input order.

        ``on_query_peers_online_status_result(request_id, states, code)`` follows.
        """
        peers = tuple(peer_ids) if not isinstance(peer_ids, str) else ()
        return self._call(
            QueryPresenceRequest,
            QueryPeersOnlineStatusErr,
            lambda rid: QueryPresence(rid, list(peers)),
            self._config.presence_timeout,
            valid=valid_peer_list(peers, MAX_QUERY_PEERS),
            failure=lambda rid, code: ("on_query_peers_online_status_result", (rid, {}, code)),
            peer_ids=peers,
        )

    def subscribe_peers_online_status(self, peer_ids: Sequence[str]) -> RtmFuture[None]:
        """Watch up to 512 users in all; ``on_peers_online_status_changed`` reports changes,
        first with their current states. Restored by itself after a reconnect."""
        return self._subscription(peer_ids, subscribe=True)

    def unsubscribe_peers_online_status(self, peer_ids: Sequence[str]) -> RtmFuture[None]:
        """Stop watching these users."""
        return self._subscription(peer_ids, subscribe=False)

    def _subscription(self, peer_ids: Sequence[str], *, subscribe: bool) -> RtmFuture[None]:
        peers = tuple(peer_ids) if not isinstance(peer_ids, str) else ()
        frame_type = Subscribe if subscribe else Unsubscribe
        return self._call(
            SubscriptionRequest,
            PeerSubscriptionStatusErr,
            lambda rid: frame_type(rid, list(peers)),
            self._config.presence_timeout,
            valid=valid_peer_list(peers, MAX_SUBSCRIBED_PEERS),
            invalid=PeerSubscriptionStatusErr.OVERFLOW
            if len(peers) > MAX_SUBSCRIBED_PEERS
            else PeerSubscriptionStatusErr.INVALID_ARGUMENT,
            failure=lambda rid, code: ("on_subscription_request_result", (rid, code)),
            peer_ids=peers,
            subscribe=subscribe,
        )

    def query_peers_by_subscription_option(
        self, option: PeerSubscriptionOption = PeerSubscriptionOption.ONLINE_STATUS
    ) -> RtmFuture[list[str]]:
        """The users this client watches (the server's view)."""
        return self._call(
            QuerySubscriptionsRequest,
            QueryPeersBySubscriptionOptionErr,
            lambda rid: QuerySubscriptions(rid, int(option)),
            self._config.request_timeout,
            valid=option in PeerSubscriptionOption._value2member_map_,
            invalid=QueryPeersBySubscriptionOptionErr.FAILURE,
            failure=lambda rid, code: (
                "on_query_peers_by_subscription_option_result",
                (rid, [], code),
            ),
        )

    # -- user attributes -------------------------------------------------------------

    def set_local_user_attributes(self, attributes: Mapping[str, str]) -> RtmFuture[None]:
        """Replace this user's attributes; ``on_set_local_user_attributes_result`` follows."""
        attrs = dict(attributes)
        return self._attribute_write(
            AttributeOp.SET, lambda rid: SetLocalAttributes(rid, attrs), attributes=attrs
        )

    def add_or_update_local_user_attributes(self, attributes: Mapping[str, str]) -> RtmFuture[None]:
        """Add or update some attributes; ``on_add_or_update_local_user_attributes_result``."""
        attrs = dict(attributes)
        return self._attribute_write(
            AttributeOp.ADD_OR_UPDATE,
            lambda rid: AddOrUpdateLocalAttributes(rid, attrs),
            attributes=attrs,
        )

    def delete_local_user_attributes_by_keys(self, keys: Sequence[str]) -> RtmFuture[None]:
        """Delete attributes by key; ``on_delete_local_user_attributes_result`` follows."""
        key_list = list(keys) if not isinstance(keys, str) else []
        return self._attribute_write(
            AttributeOp.DELETE, lambda rid: DeleteLocalAttributes(rid, key_list), keys=key_list
        )

    def clear_local_user_attributes(self) -> RtmFuture[None]:
        """Delete every attribute; ``on_clear_local_user_attributes_result`` follows."""
        return self._attribute_write(AttributeOp.CLEAR, ClearLocalAttributes)

    def _attribute_write(
        self,
        op: AttributeOp,
        make_frame: Callable[[int], Any],
        attributes: dict[str, str] | None = None,
        keys: list[str] | None = None,
    ) -> RtmFuture[None]:
        callback = _ATTRIBUTE_CALLBACKS[op]
        valid = all(isinstance(v, str) for v in (attributes or {}).values()) and all(
            isinstance(k, str) for k in [*(attributes or {}), *(keys or [])]
        )
        return self._call(
            AttributeWriteRequest,
            AttributeOperationErr,
            make_frame,
            self._config.request_timeout,
            valid=valid,
            failure=lambda rid, code: (callback, (rid, code)),
            op=op,
            attributes=attributes or {},
            keys=tuple(keys or ()),
            callback=callback,
        )

    def get_user_attributes(self, user_id: str) -> RtmFuture[dict[str, str]]:
        """Every attribute of a logged-in user; ``on_get_user_attributes_result`` follows."""
        return self._get_attributes(user_id, None)

    def get_user_attributes_by_keys(
        self, user_id: str, keys: Sequence[str]
    ) -> RtmFuture[dict[str, str]]:
        """Some attributes of a logged-in user, by key."""
        return self._get_attributes(user_id, list(keys) if not isinstance(keys, str) else None)

    def _get_attributes(self, user_id: str, keys: list[str] | None) -> RtmFuture[dict[str, str]]:
        return self._call(
            GetAttributesRequest,
            AttributeOperationErr,
            lambda rid: GetUserAttributes(rid, user_id, keys),
            self._config.request_timeout,
            valid=is_valid_user_id(user_id) and all(isinstance(k, str) for k in keys or []),
            failure=lambda rid, code: ("on_get_user_attributes_result", (rid, user_id, {}, code)),
            user_id=user_id if isinstance(user_id, str) else "",
        )

    # -- shared plumbing -------------------------------------------------------------

    def _call(
        self,
        kind: type[Request],
        codes: Any,
        make_frame: Callable[[int], Any],
        timeout: float,
        *,
        valid: bool,
        failure: Callable[[int, Any], tuple[str, tuple[Any, ...]]],
        invalid: Any = None,
        **fields: Any,
    ) -> RtmFuture[Any]:
        """Check locally, then hand a request with a fresh request id to the actor."""
        rid = next(self._rids)
        code = None
        if self._actor is None:
            code = codes.NOT_INITIALIZED
        elif self._box.state not in _SENDING_STATES:
            code = codes.USER_NOT_LOGGED_IN
        elif not valid:
            code = invalid if invalid is not None else codes.INVALID_ARGUMENT
        if code is not None:
            self._log.warning("request_refused", request_id=rid, what=kind.what, code=code.name)
            name, args = failure(rid, code)
            self._notify(name, *args)
            return RtmFuture.failed_with(code, kind.what, request_id=rid)
        request = kind(
            rid, codec.encode(make_frame(rid)), RtmFuture(rid), now() + timeout, **fields
        )
        self._actor.tell(request)
        return request.future

    # -- call invitations ------------------------------------------------------------

    def get_rtm_call_manager(self, event_handler: RtmCallEventHandler) -> RtmCallManager | None:
        """The call manager; invitations to this user are reported to ``event_handler``."""
        if self._actor is None or event_handler is None:
            return None
        manager = RtmCallManager(self, event_handler)
        self._actor.tell(cm.CallManagerSet(manager))
        return manager

    def is_logged_in(self) -> bool:
        """Whether the user is logged in (connected, or reconnecting by itself)."""
        return self._box.state in _SENDING_STATES

    def _track_invitation(self, key: tuple[Any, ...], actor: Any) -> None:
        if self._actor is not None:
            self._actor.tell(cm.TrackInvitation(key, actor))

    def _forget_call_manager(self, manager: RtmCallManager) -> None:
        if self._actor is not None:
            self._actor.tell(cm.CallManagerSet(None))

    def _send_frame_request(
        self, kind: type[Request], frame: Any, timeout: float | None = None, **fields: Any
    ) -> RtmFuture[Any]:
        """Send ``frame`` (its ``rid`` filled in) as a request of ``kind``."""
        rid = next(self._rids)
        frame = msgspec.structs.replace(frame, rid=rid)
        deadline = now() + (timeout or self._config.request_timeout)
        request = kind(rid, codec.encode(frame), RtmFuture(rid), deadline, **fields)
        if self._actor is not None:
            self._actor.tell(request)
        return request.future

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
        state = ChannelState(channel_id, event_handler)
        state.actor = ChannelActor.start(state, self._dispatcher)
        self._actor.tell(cm.ChannelCreated(state))
        channel = Channel(self._port, state)
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

    # -- logs and parameters ---------------------------------------------------------

    def set_log_file(self, path: str) -> int:
        """Agora's ``setLogFile``: this service's lines go to ``path`` as JSON lines.

        The directory must exist; the file is created (or appended to). Two files
        rotate: ``path`` and ``path.1``, each up to ``set_log_file_size``. Until a file
        is set, lines go to the process's structlog set-up.

        Returns:
            0, or ``ParameterErr.INVALID_ARGUMENT`` (-2) for a bad path or a missing
            directory, ``ParameterErr.FAILED`` (-1) if the file cannot be opened.
        """
        return self._log_setting("log_file", self._sdk_log.set_file, path)

    def set_log_filter(self, log_filter: Any) -> int:
        """Agora's ``setLogFilter``: a ``LogFilter`` (``OFF`` writes nothing; ``INFO``
        is the default; ``MASK`` adds debug lines), or any 16-bit Agora mask.

        Returns:
            0, or ``ParameterErr.INVALID_ARGUMENT`` (-2).
        """
        return self._log_setting("log_filter", self._sdk_log.set_filter, log_filter)

    def set_log_file_size(self, size_kb: int) -> int:
        """Agora's ``setLogFileSize``: each of the two files' size in KB, in
        [512, 1048576] (1 GB); 10240 (10 MB) by default.

        Returns:
            0, or ``ParameterErr.INVALID_ARGUMENT`` (-2) outside the range.
        """
        return self._log_setting("log_file_size", self._sdk_log.set_size, size_kb)

    def _log_setting(self, name: str, setter: Callable[[Any], ParameterErr], value: Any) -> int:
        code = setter(value)
        if code is not ParameterErr.OK:
            self._log.warning("log_setting_refused", setting=name, value=repr(value)[:200])
        else:
            self._log.info("log_setting_changed", setting=name, value=value)
        return code

    def set_parameters(self, json_text: str) -> int:
        """Agora's ``setParameters``: set several options from a JSON object.

        The keys are in ``rtm_actors.client.parameters.KEYS`` and ``docs/operations.md``.
        Nothing is applied unless every key is known and every value valid. Timings
        and the server URL take effect at their next use (the next login, reconnect
        or request): set them before ``login``.

        Returns:
            0; ``ParameterErr.NOT_SUPPORTED`` (-4) for an unknown key;
            ``ParameterErr.INVALID_ARGUMENT`` (-2) for bad JSON or a bad value;
            ``ParameterErr.FAILED`` (-1) if the log file cannot be opened.
        """
        params = parse_parameters(json_text, self._config, self._sdk_log)
        for problem in params.problems:
            self._log.warning(
                "parameter_refused",
                key=problem.key[:100],
                detail=problem.detail[:300],
                code=problem.code.name,
            )
        if params.problems:
            return params.code
        log = params.log
        # The file first: it is the one setting that can still fail.
        for name, setter in (
            ("file", self._sdk_log.set_file),
            ("size", self._sdk_log.set_size),
            ("filter", self._sdk_log.set_filter),
        ):
            if name in log and (code := setter(log[name])) is not ParameterErr.OK:
                self._log.warning("parameter_refused", key=f"rtm.log_{name}", code=code.name)
                return code
        self._config = params.config
        self._url = params.server_url or self._url
        if self._actor is not None:
            change = cm.Reconfigure(params.config, params.server_url)
            self._actor.tell(change)
            self._supervisor.tell(change)
        self._log.info("parameters_set", text=str(json_text)[:500])
        return ParameterErr.OK

    def _notify(self, method: str, *args: Any) -> None:
        if self._dispatcher is not None and self._handler is not None:
            self._dispatcher.tell(Callback(self._handler, method, args))


_ATTRIBUTE_CALLBACKS = {
    AttributeOp.SET: "on_set_local_user_attributes_result",
    AttributeOp.ADD_OR_UPDATE: "on_add_or_update_local_user_attributes_result",
    AttributeOp.DELETE: "on_delete_local_user_attributes_result",
    AttributeOp.CLEAR: "on_clear_local_user_attributes_result",
}


_CHANNEL_ATTRIBUTE_CALLBACKS = {
    AttributeOp.SET: "on_set_channel_attributes_result",
    AttributeOp.ADD_OR_UPDATE: "on_add_or_update_channel_attributes_result",
    AttributeOp.DELETE: "on_delete_channel_attributes_result",
    AttributeOp.CLEAR: "on_clear_channel_attributes_result",
}


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
        if service.connection_state not in _SENDING_STATES:
            return codes.USER_NOT_LOGGED_IN
        return None

    def joined_count(self) -> int:
        """Channels joined or being joined (Agora allows 20)."""
        return sum(
            1
            for c in self._service._channel_objects.values()
            if c._state.joined or c._state.joining
        )

    def request(
        self, kind: type[Request], make_frame: Callable[[int], Any], timeout: float, **fields: Any
    ) -> RtmFuture[Any]:
        """Send a channel request through the service actor."""
        service = self._service
        rid = next(service._rids)
        request = kind(rid, codec.encode(make_frame(rid)), RtmFuture(), now() + timeout, **fields)
        service._actor.tell(request)
        return request.future

    def notify(self, handler: Any, method: str, *args: Any) -> None:
        """Fire a channel callback on the service's callback greenlet."""
        if self._service._dispatcher is not None:
            self._service._dispatcher.tell(Callback(handler, method, args))

    def forget(self, state: ChannelState) -> None:
        """The channel object was released."""
        service = self._service
        if service._channel_objects.get(state.channel_id) is not None:
            del service._channel_objects[state.channel_id]
        if service._actor is not None:
            service._actor.tell(cm.ChannelReleased(state))
        if state.actor is not None:
            state.actor.stop(block=False)


class AgoraService:
    """Agora ``IAgoraService``: the factory of ``RtmService`` objects."""

    def __init__(self) -> None:
        self._services: list[RtmService] = []

    def initialize(self, context: Any = None) -> int:
        """Nothing to set up; answers 0 (Agora's success)."""
        return 0

    def create_rtm_service(self) -> RtmService:
        """A new, uninitialised ``RtmService``."""
        service = RtmService()
        self._services.append(service)
        return service

    def release(self) -> None:
        """Release every ``RtmService`` this factory made."""
        for service in self._services:
            service.release()
        self._services.clear()


def create_agora_service() -> AgoraService:
    """Agora's ``createAgoraService``."""
    return AgoraService()
