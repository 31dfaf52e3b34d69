"""The presence and user-attribute requests of a ``SessionActor`` (a mixin).

Presence lives in the node's ``PresenceHub``; the session only keeps which users it
watches, so it can answer ``QuerySubscriptions`` and unwatch them when it ends.
Attributes live in the node's ``UserAttributeStore``; a session can write only its
own user's, because no write frame names a user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtm_actors.protocol.attributes import AttributeOp, apply_write, select
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    PeerOnlineState,
    PeerSubscriptionStatusErr,
    QueryPeersBySubscriptionOptionErr,
    QueryPeersOnlineStatusErr,
)
from rtm_actors.protocol.frames import (
    AddOrUpdateLocalAttributes,
    AttributesReply,
    ClearLocalAttributes,
    DeleteLocalAttributes,
    GetUserAttributes,
    PeersReply,
    PresenceReply,
    QueryPresence,
    QuerySubscriptions,
    Reply,
    SetLocalAttributes,
    Subscribe,
    Unsubscribe,
)
from rtm_actors.protocol.limits import is_valid_user_id
from rtm_actors.protocol.presence import (
    MAX_QUERY_PEERS,
    as_query_answer,
    check_subscribe,
    valid_peer_list,
)
from rtm_actors.server.context import ServerContext

_WRITES: dict[type, AttributeOp] = {
    SetLocalAttributes: AttributeOp.SET,
    AddOrUpdateLocalAttributes: AttributeOp.ADD_OR_UPDATE,
    DeleteLocalAttributes: AttributeOp.DELETE,
    ClearLocalAttributes: AttributeOp.CLEAR,
}
PRESENCE_FRAMES = (QueryPresence, Subscribe, Unsubscribe, QuerySubscriptions)
ATTRIBUTE_FRAMES = (*_WRITES, GetUserAttributes)


class PresenceAndAttributes:
    """Mixed into ``SessionActor``: needs ``ctx``, ``app_id``, ``user_id``, ``_send``."""

    ctx: ServerContext
    app_id: str
    user_id: str
    actor_ref: Any
    session_key: str
    _send: Callable[[Any], None]
    _push_presence: Callable[[dict[str, int]], None]
    _allow: Callable[[str], bool]

    def _init_presence(self) -> None:
        self.watching: set[str] = set()
        self._missed_presence: dict[str, int] = {}

    # -- presence --------------------------------------------------------------

    def _on_presence_frame(self, frame: Any) -> None:
        match frame:
            case QueryPresence(rid=rid, peer_ids=peer_ids):
                self._query_presence(rid, peer_ids)
            case Subscribe(rid=rid, peer_ids=peer_ids):
                self._subscribe(rid, peer_ids)
            case Unsubscribe(rid=rid, peer_ids=peer_ids):
                self._unsubscribe(rid, peer_ids)
            case QuerySubscriptions(rid=rid):
                if not self._allow("query_subscriptions"):
                    code = QueryPeersBySubscriptionOptionErr.TOO_OFTEN
                    self._send(PeersReply(rid, code))
                else:
                    self._send(PeersReply(rid, 0, sorted(self.watching)))

    def _query_presence(self, rid: int, peer_ids: list[str]) -> None:
        if not valid_peer_list(peer_ids, MAX_QUERY_PEERS):
            self._send(PresenceReply(rid, QueryPeersOnlineStatusErr.INVALID_ARGUMENT))
        elif not self._allow("presence_query"):
            self._send(PresenceReply(rid, QueryPeersOnlineStatusErr.TOO_OFTEN))
        else:
            found = self.ctx.presence.states(self.app_id, peer_ids)
            states = [int(as_query_answer(found[p])) for p in peer_ids]
            self._send(PresenceReply(rid, QueryPeersOnlineStatusErr.OK, states))

    def _subscribe(self, rid: int, peer_ids: list[str]) -> None:
        code = check_subscribe(self.watching, peer_ids)
        if code is PeerSubscriptionStatusErr.OK and not self._allow("subscribe"):
            code = PeerSubscriptionStatusErr.TOO_OFTEN
        self._send(Reply(rid, code))
        if code is PeerSubscriptionStatusErr.OK:
            fresh = [p for p in dict.fromkeys(peer_ids) if p not in self.watching]
            self.watching.update(fresh)
            states = self.ctx.presence.watch(self.actor_ref, self.app_id, list(peer_ids))
            # Every id of the request, new or not: a re-subscribe after a reconnect
            # is how a client learns what changed while it was away.
            self._push_presence({p: int(s) for p, s in states.items()})

    def _unsubscribe(self, rid: int, peer_ids: list[str]) -> None:
        if not valid_peer_list(peer_ids, len(peer_ids) or 1):
            code = PeerSubscriptionStatusErr.INVALID_ARGUMENT
        elif not self._allow("unsubscribe"):
            code = PeerSubscriptionStatusErr.TOO_OFTEN
        else:
            code = PeerSubscriptionStatusErr.OK
            self.watching.difference_update(peer_ids)
            self.ctx.presence.unwatch(self.actor_ref, self.app_id, peer_ids)
        self._send(Reply(rid, code))

    def _stop_watching(self) -> None:
        self.ctx.presence.unwatch(self.actor_ref, self.app_id, self.watching)
        self.watching.clear()

    def _set_own_presence(self, state: PeerOnlineState) -> bool:
        """Answer False if another session (on another node) owns the user now."""
        return self.ctx.presence.set_state((self.app_id, self.user_id), state, self.session_key)

    # -- user attributes ---------------------------------------------------------

    def _on_attribute_frame(self, frame: Any) -> None:
        if isinstance(frame, GetUserAttributes):
            self._get_attributes(frame)
            return
        if not self._allow("attribute_write"):
            self._send(Reply(frame.rid, AttributeOperationErr.TOO_OFTEN))
            return
        store = self.ctx.attributes
        current = store.get(self.app_id, self.user_id)
        code, after = apply_write(
            current,
            _WRITES[type(frame)],
            getattr(frame, "attributes", None),
            getattr(frame, "keys", None),
        )
        if code is AttributeOperationErr.OK:
            store.put(self.app_id, self.user_id, after)
        self._send(Reply(frame.rid, code))

    def _get_attributes(self, frame: GetUserAttributes) -> None:
        rid, user_id = frame.rid, frame.user_id
        if not is_valid_user_id(user_id):
            self._send(AttributesReply(rid, AttributeOperationErr.INVALID_ARGUMENT, user_id[:64]))
        elif not self._allow("attribute_read"):
            self._send(AttributesReply(rid, AttributeOperationErr.TOO_OFTEN, user_id))
        elif self.ctx.route((self.app_id, user_id)) is None:
            self._send(AttributesReply(rid, AttributeOperationErr.USER_NOT_FOUND, user_id))
        else:
            attributes = select(self.ctx.attributes.get(self.app_id, user_id), frame.keys)
            self._send(AttributesReply(rid, AttributeOperationErr.OK, user_id, attributes))
