"""Requests in flight: each kind knows how to settle its future and its Agora callback.

The facade builds a request (encoded frame, future, deadline); the service actor keeps
it until the answer comes, the deadline passes, or the session ends, and then calls
``settle`` / ``expire`` / ``abandon``. Kinds that change what the client must restore
after a reconnect (subscriptions, local attributes) update ``ClientState``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

from rtm_actors.client.futures import RtmFuture
from rtm_actors.protocol.attributes import AttributeOp, apply_write
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    PeerMessageErrCode,
    PeerOnlineState,
    PeerSubscriptionStatusErr,
    QueryPeersBySubscriptionOptionErr,
    QueryPeersOnlineStatusErr,
    RenewTokenErrCode,
)
from rtm_actors.protocol.frames import AttributesReply, PeersReply, PresenceReply, Reply

Notify = Callable[..., None]


@dataclass
class ClientState:
    """What the server must be told again after a session is lost and rebuilt."""

    #: Watched users and the state last reported to the application.
    subscribed: dict[str, PeerOnlineState | None] = field(default_factory=dict)
    #: The user's own attributes as the server has them.
    local_attributes: dict[str, str] = field(default_factory=dict)

    def clear(self) -> None:
        """Logout or kick: nothing is restored."""
        self.subscribed.clear()
        self.local_attributes.clear()


@dataclass(eq=False)
class Request:
    """A request waiting for its answer."""

    rid: int
    frame: bytes
    future: RtmFuture[Any]
    deadline: float
    #: Sent by the SDK itself (restoring state): no application callback.
    internal: bool = False
    #: Whose callbacks fire (a channel's handler); None: the service's handler.
    handler: Any = None

    codes: ClassVar[type[IntEnum]]
    timeout_code: ClassVar[IntEnum]
    failure_code: ClassVar[IntEnum]
    what: ClassVar[str] = "request"

    def settle(self, reply: Any, state: ClientState, notify: Notify) -> None:
        """The server answered."""
        code = _code(self.codes, reply.code, self.failure_code)
        value = self.value(reply, code, state) if code == 0 else None
        self._finish(code, value, notify)

    def expire(self, notify: Notify) -> None:
        """No answer before the deadline."""
        self._finish(self.timeout_code, None, notify)

    def abandon(self, notify: Notify) -> None:
        """The session ended (logout, kick) with this request unanswered."""
        self._finish(self.failure_code, None, notify)

    def refuse(self, code: IntEnum, notify: Notify) -> None:
        """Refused before it went out, by a rule of the state the service actor owns."""
        self._finish(code, None, notify)

    def value(self, reply: Any, code: IntEnum, state: ClientState) -> Any:
        """The future's value on success (and any state update)."""
        return None

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        """The Agora callback to fire: (name, args), or None."""
        return None

    def _finish(self, code: IntEnum, value: Any, notify: Notify) -> None:
        if self.succeeded(code):
            self.future.resolve(value if value is not None else self.success_value(code))
        else:
            self.future.fail(code, self.what)
        callback = None if self.internal else self.callback_args(code, value)
        if callback is not None:
            notify(callback[0], *callback[1])

    def succeeded(self, code: IntEnum) -> bool:
        """Whether ``code`` resolves (rather than fails) the future."""
        return code == 0

    def success_value(self, code: IntEnum) -> Any:
        """The value of a success that carries no data."""
        return None


@dataclass(eq=False)
class PeerMessageRequest(Request):
    """``send_message_to_peer``: resolved by the delivery receipt."""

    message_id: int = 0
    codes = PeerMessageErrCode
    timeout_code = PeerMessageErrCode.SENT_TIMEOUT
    failure_code = PeerMessageErrCode.FAILURE
    what = "send_message_to_peer"

    def succeeded(self, code: IntEnum) -> bool:
        return code in (PeerMessageErrCode.OK, PeerMessageErrCode.CACHED_BY_SERVER)

    def success_value(self, code: IntEnum) -> Any:
        return code

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        return "on_send_message_result", (self.message_id, code)


@dataclass(eq=False)
class QueryPresenceRequest(Request):
    """``query_peers_online_status``."""

    peer_ids: tuple[str, ...] = ()
    codes = QueryPeersOnlineStatusErr
    timeout_code = QueryPeersOnlineStatusErr.TIMEOUT
    failure_code = QueryPeersOnlineStatusErr.FAILURE
    what = "query_peers_online_status"

    def value(self, reply: PresenceReply, code: IntEnum, state: ClientState) -> Any:
        return {p: PeerOnlineState(s) for p, s in zip(self.peer_ids, reply.states, strict=False)}

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        return "on_query_peers_online_status_result", (self.rid, value or {}, code)


@dataclass(eq=False)
class SubscriptionRequest(Request):
    """``subscribe_peers_online_status`` / ``unsubscribe_peers_online_status``."""

    peer_ids: tuple[str, ...] = ()
    subscribe: bool = True
    codes = PeerSubscriptionStatusErr
    timeout_code = PeerSubscriptionStatusErr.TIMEOUT
    failure_code = PeerSubscriptionStatusErr.FAILURE
    what = "subscribe_peers_online_status"

    def value(self, reply: Reply, code: IntEnum, state: ClientState) -> Any:
        for peer in self.peer_ids:
            if self.subscribe:
                state.subscribed.setdefault(peer, None)
            else:
                state.subscribed.pop(peer, None)
        return None

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        return "on_subscription_request_result", (self.rid, code)


@dataclass(eq=False)
class QuerySubscriptionsRequest(Request):
    """``query_peers_by_subscription_option``."""

    codes = QueryPeersBySubscriptionOptionErr
    timeout_code = QueryPeersBySubscriptionOptionErr.TIMEOUT
    failure_code = QueryPeersBySubscriptionOptionErr.FAILURE
    what = "query_peers_by_subscription_option"

    def value(self, reply: PeersReply, code: IntEnum, state: ClientState) -> Any:
        return list(reply.peer_ids)

    def success_value(self, code: IntEnum) -> Any:
        return []

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        return "on_query_peers_by_subscription_option_result", (self.rid, value or [], code)


@dataclass(eq=False)
class AttributeWriteRequest(Request):
    """The four writes of the user's own attributes."""

    op: AttributeOp = AttributeOp.SET
    attributes: Mapping[str, str] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    callback: str = "on_set_local_user_attributes_result"
    codes = AttributeOperationErr
    timeout_code = AttributeOperationErr.TIMEOUT
    failure_code = AttributeOperationErr.FAILURE
    what = "local user attributes"

    def value(self, reply: Reply, code: IntEnum, state: ClientState) -> Any:
        _, after = apply_write(state.local_attributes, self.op, self.attributes, self.keys)
        state.local_attributes = after
        return None

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        return self.callback, (self.rid, code)


@dataclass(eq=False)
class GetAttributesRequest(Request):
    """``get_user_attributes`` / ``get_user_attributes_by_keys``."""

    user_id: str = ""
    codes = AttributeOperationErr
    timeout_code = AttributeOperationErr.TIMEOUT
    failure_code = AttributeOperationErr.FAILURE
    what = "get_user_attributes"

    def value(self, reply: AttributesReply, code: IntEnum, state: ClientState) -> Any:
        return dict(reply.attributes)

    def success_value(self, code: IntEnum) -> Any:
        return {}

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        return "on_get_user_attributes_result", (self.rid, self.user_id, value or {}, code)


def _code(codes: type[IntEnum], value: int, fallback: IntEnum) -> IntEnum:
    try:
        return codes(value)
    except ValueError:
        return fallback


@dataclass(eq=False)
class RenewTokenRequest(Request):
    """``renew_token`` while connected: the server checks the token and moves the expiry."""

    token: str = ""
    codes = RenewTokenErrCode
    timeout_code = RenewTokenErrCode.FAILURE
    failure_code = RenewTokenErrCode.FAILURE
    what = "renew_token"

    def success_value(self, code: IntEnum) -> Any:
        return self.token

    def callback_args(self, code: IntEnum, value: Any) -> tuple[str, tuple[Any, ...]] | None:
        return "on_renew_token_result", (self.token, code)
