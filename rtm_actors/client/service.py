"""The SDK's entry points: ``AgoraService`` and ``RtmService`` (Agora's names in snake_case).

Facades only: each method checks what Agora checks locally, then tells an actor and
returns an ``RtmFuture``. A call refused locally never raises: it returns an
already-failed future and fires the failure callback, as Agora's SDK does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

import msgspec
import pykka
import structlog

from rtm_actors.client import messages as cm
from rtm_actors.client.calls import ClientInvitationActor, RtmCallManager
from rtm_actors.client.channel import Channel
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.dispatcher import EventDispatcher, shared_dispatcher
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.handlers import RtmCallEventHandler
from rtm_actors.client.requests import (
    PeerMessageRequest,
    RenewTokenRequest,
    Request,
)
from rtm_actors.client.sdk_log import SdkLog
from rtm_actors.client.service_actor import RtmServiceActor, new_rid_counter
from rtm_actors.client.service_channels import ChannelMethods, ChannelPort
from rtm_actors.client.service_presence import PresenceMethods
from rtm_actors.client.service_settings import SettingsMethods
from rtm_actors.client.states import SENDING_STATES
from rtm_actors.client.supervisor import ConnectionSupervisor, StateBox
from rtm_actors.client.values import (
    Message,
    MessageIds,
    SendMessageOptions,
)
from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import (
    ConnectionState,
    InitErrCode,
    LoginErrCode,
    LogoutErrCode,
    MessageType,
    PeerMessageErrCode,
    RenewTokenErrCode,
)
from rtm_actors.protocol.flow import RateLimiter
from rtm_actors.protocol.frames import (
    RenewToken,
    SendPeerMessage,
)
from rtm_actors.protocol.limits import (
    is_valid_app_id,
    is_valid_message,
    is_valid_user_id,
)
from rtm_actors.runtime import tell_or_run_inline
from rtm_actors.runtime.timers import fresh_now

log = structlog.get_logger("rtm_actors.client")

DEFAULT_SERVER_URL = "ws://127.0.0.1:8700/rtm"


def get_agora_sdk_version() -> str:
    """Agora's ``getAgoraSdkVersion``: this SDK's version and the API it follows."""
    try:
        version = metadata.version("rtm-actors")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"rtm_actors {version} (Agora RTM 1.4 API)"


class RtmService(PresenceMethods, ChannelMethods, SettingsMethods):
    """Agora ``IRtmService``: one logged-in user's client.

    Create it with ``create_agora_service().create_rtm_service()``, then
    ``initialize(app_id, handler)`` and ``login(token, user_id)``.
    """

    def __init__(self) -> None:
        self._app_id = ""
        self._handler: Any = None
        self._box = StateBox()
        self._dispatcher: pykka.ActorRef[EventDispatcher] | None = None
        self._actor: pykka.ActorRef[RtmServiceActor] | None = None
        self._supervisor: pykka.ActorRef[ConnectionSupervisor] | None = None
        self._ids = MessageIds()
        self._rids = new_rid_counter()
        self._config = ClientConfig()
        self._channel_objects: dict[str, Channel] = {}
        #: The one call manager (Agora: ``getRtmCallManager`` answers the same object).
        self._call_manager: RtmCallManager | None = None
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
        server_url: str | Sequence[str] | None = None,
        config: ClientConfig | None = None,
    ) -> int:
        """Set the app id and event handler and start the client's actors.

        Args:
            app_id: the app id (Agora's are 32 hex characters).
            event_handler: an ``RtmServiceEventHandler``.
            server_url: the server; several nodes of one cluster as a list (or one
                string, separated by commas), tried in turn when one cannot be
                reached; default ``$RTM_ACTORS_SERVER_URL``, else
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
        if server_url is not None and not isinstance(server_url, str):
            server_url = ",".join(server_url)
        url = (
            server_url or self._url or os.environ.get("RTM_ACTORS_SERVER_URL") or DEFAULT_SERVER_URL
        )
        self._app_id = app_id
        self._url = url
        self._handler = event_handler
        self._dispatcher = (
            shared_dispatcher() if config.shared_dispatcher else EventDispatcher.start()
        )
        self._config = config
        self._sdk_log.context["app_id"] = app_id
        logger = self._sdk_log.logger()
        self._actor = RtmServiceActor.start(
            event_handler, self._dispatcher, config, self._rids, logger
        )
        self._supervisor = ConnectionSupervisor.start(
            app_id, url, event_handler, self._dispatcher, self._actor, config, self._box, logger
        )
        tell_or_run_inline(self._actor, cm.SetSupervisor(self._supervisor))
        return InitErrCode.OK

    def release(self) -> None:
        """Log out if needed and stop this client's actors."""
        if self._actor is None or self._supervisor is None or self._dispatcher is None:
            return  # (all three start and stop together)
        # The supervisor logs out first; callbacks already queued still run.
        self._supervisor.tell(cm.Release())
        self._actor.stop(block=False)
        if not self._config.shared_dispatcher:
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
        assert self._supervisor is not None  # else _login_check said NOT_INITIALIZED
        tell_or_run_inline(self._supervisor, cm.StartLogin(token or "", user_id, future))
        return future

    def _login_check(self, user_id: str) -> LoginErrCode | None:
        if self._supervisor is None:
            return LoginErrCode.NOT_INITIALIZED
        if not self._login_rate.allow(fresh_now()):
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
        tell_or_run_inline(self._supervisor, cm.StartLogout(future))
        return future

    def renew_token(self, token: str) -> RtmFuture[str]:
        """Use ``token`` from now on (for reconnects); ``on_renew_token_result`` follows."""
        code: RenewTokenErrCode | None = None
        if self._supervisor is None:
            code = RenewTokenErrCode.NOT_INITIALIZED
        elif not token:
            code = RenewTokenErrCode.INVALID_ARGUMENT
        elif not self._renew_rate.allow(fresh_now()):
            code = RenewTokenErrCode.TOO_OFTEN
        if code is not None:
            self._notify("on_renew_token_result", token, code)
            return RtmFuture.failed_with(code, "renew_token")
        future: RtmFuture[str] = RtmFuture()
        assert self._supervisor is not None  # else NOT_INITIALIZED above
        if self._box.state is ConnectionState.CONNECTED:
            # The server checks it and moves the session's expiry; the supervisor keeps
            # it for later reconnects either way.
            self._supervisor.tell(cm.RenewSessionToken(token, RtmFuture()))
            return self._send_frame_request(RenewTokenRequest, RenewToken(0, token), token=token)
        self._supervisor.tell(cm.RenewSessionToken(token, future))
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
        ``CACHED_BY_SERVER`` when the peer is offline, ``options`` asked for
        offline messaging and the server stored it; any other outcome raises
        ``RtmError`` with the code (``PEER_UNREACHABLE``: neither delivered nor stored).
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
            fresh_now() + self._config.peer_message_timeout,
            message_id=message.message_id,
        )
        self._submit(request)
        return request.future

    def _send_check(self, peer_id: str, message: Message) -> PeerMessageErrCode | None:
        if self._actor is None:
            return PeerMessageErrCode.NOT_INITIALIZED
        if self._box.state not in SENDING_STATES:
            return PeerMessageErrCode.USER_NOT_LOGGED_IN
        if not is_valid_user_id(peer_id):
            return PeerMessageErrCode.INVALID_USERID
        if not isinstance(message, Message) or not is_valid_message(
            message.text, message.raw_message
        ):
            return PeerMessageErrCode.INVALID_MESSAGE
        return None

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
        elif self._box.state not in SENDING_STATES:
            code = codes.USER_NOT_LOGGED_IN
        elif not valid:
            code = invalid if invalid is not None else codes.INVALID_ARGUMENT
        if code is not None:
            self._log.warning("request_refused", request_id=rid, what=kind.what, code=code.name)
            name, args = failure(rid, code)
            self._notify(name, *args)
            return RtmFuture.failed_with(code, kind.what, request_id=rid)
        request = kind(
            rid, codec.encode(make_frame(rid)), RtmFuture(rid), fresh_now() + timeout, **fields
        )
        self._submit(request)
        return request.future

    # -- call invitations ------------------------------------------------------------

    def get_rtm_call_manager(self, event_handler: RtmCallEventHandler) -> RtmCallManager | None:
        """The call manager; invitations to this user are reported to ``event_handler``."""
        if self._actor is None or event_handler is None:
            return None
        manager = self._call_manager
        if manager is not None:
            # Agora: one call manager per service; a later handler replaces the earlier.
            manager.handler = event_handler
            return manager
        manager = self._call_manager = RtmCallManager(self, event_handler)
        self._actor.tell(cm.CallManagerSet(manager))
        return manager

    def is_logged_in(self) -> bool:
        """Whether the user is logged in (connected, or reconnecting by itself)."""
        return self._box.state in SENDING_STATES

    def _track_invitation(
        self, key: cm.InvitationRoute, actor: pykka.ActorRef[ClientInvitationActor]
    ) -> None:
        if self._actor is not None:
            self._actor.tell(cm.TrackInvitation(key, actor))

    def _forget_call_manager(self, manager: RtmCallManager) -> None:
        if manager is not self._call_manager:
            return  # released twice: the service may have a newer one by now
        self._call_manager = None
        if self._actor is not None:
            self._actor.tell(cm.CallManagerSet(None))

    def _send_frame_request(
        self, kind: type[Request], frame: Any, timeout: float | None = None, **fields: Any
    ) -> RtmFuture[Any]:
        """Send ``frame`` (its ``rid`` filled in) as a request of ``kind``."""
        rid = next(self._rids)
        frame = msgspec.structs.replace(frame, rid=rid)
        deadline = fresh_now() + (timeout or self._config.request_timeout)
        request = kind(rid, codec.encode(frame), RtmFuture(rid), deadline, **fields)
        if self._actor is not None:
            self._submit(request)
        return request.future

    def _submit(self, request: Request) -> None:
        """Hand ``request`` to the service actor, inline in this greenlet when the
        actor is idle (it only queues the frame on the link, which never blocks)."""
        if self._actor is None or not tell_or_run_inline(self._actor, request):
            msg = f"{self._actor} not found"
            raise pykka.ActorDeadError(msg)

    def _notify(self, method: str, *args: Any) -> None:
        if self._dispatcher is not None and self._handler is not None:
            self._dispatcher.tell(cm.Callback(self._handler, method, args))


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
