"""RtmService's presence and user-attribute methods (a mixin of ``RtmService``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rtm_actors.client.config import ClientConfig
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.requests import (
    AttributeWriteRequest,
    GetAttributesRequest,
    QueryPresenceRequest,
    QuerySubscriptionsRequest,
    SubscriptionRequest,
)
from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    PeerOnlineState,
    PeerSubscriptionOption,
    PeerSubscriptionStatusErr,
    QueryPeersBySubscriptionOptionErr,
    QueryPeersOnlineStatusErr,
)
from rtm_actors.protocol.frames import (
    AddOrUpdateLocalAttributes,
    ClearLocalAttributes,
    DeleteLocalAttributes,
    GetUserAttributes,
    QueryPresence,
    QuerySubscriptions,
    SetLocalAttributes,
    Subscribe,
    Unsubscribe,
)
from rtm_actors.protocol.limits import (
    is_valid_user_id,
)
from rtm_actors.protocol.presence import MAX_QUERY_PEERS, MAX_SUBSCRIBED_PEERS, valid_peer_list

if TYPE_CHECKING:
    import pykka

    from rtm_actors.client.service_actor import RtmServiceActor

_ATTRIBUTE_CALLBACKS = {
    AttributeOp.SET: "on_set_local_user_attributes_result",
    AttributeOp.ADD_OR_UPDATE: "on_add_or_update_local_user_attributes_result",
    AttributeOp.DELETE: "on_delete_local_user_attributes_result",
    AttributeOp.CLEAR: "on_clear_local_user_attributes_result",
}


class PresenceMethods:
    """Online status, subscriptions and the user's own attributes."""

    _actor: pykka.ActorRef[RtmServiceActor] | None
    _config: ClientConfig
    _call: Callable[..., RtmFuture[Any]]

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
