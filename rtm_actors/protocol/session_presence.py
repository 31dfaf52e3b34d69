"""A server session's presence and user-attribute requests, sans-IO.

Presence lives in the node; the session keeps only which users it watches, so it can
answer ``QuerySubscriptions`` and unwatch them when it ends, and the changes it missed
while its link was down. Attributes live in the node's store; a session writes only
its own user's, because no write frame names a user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

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
from rtm_actors.protocol.server_session_io import (
    PresencePush,
    SaveAttributes,
    SessionPort,
    Unwatch,
)

PresenceFrame = QueryPresence | Subscribe | Unsubscribe | QuerySubscriptions
AttributeWrite = (
    SetLocalAttributes | AddOrUpdateLocalAttributes | DeleteLocalAttributes | ClearLocalAttributes
)
AttributeFrame = AttributeWrite | GetUserAttributes
_WRITES: dict[type, AttributeOp] = {
    SetLocalAttributes: AttributeOp.SET,
    AddOrUpdateLocalAttributes: AttributeOp.ADD_OR_UPDATE,
    DeleteLocalAttributes: AttributeOp.DELETE,
    ClearLocalAttributes: AttributeOp.CLEAR,
}


class PresenceRequests:
    """Whom one session watches, and the rules of its presence requests."""

    __slots__ = ("_missed", "_port", "_push", "watching")

    def __init__(self, port: SessionPort, push: Callable[[PresencePush], None]) -> None:
        self._port = port
        #: Pushes through the session's delivery window.
        self._push = push
        self.watching: set[str] = set()
        self._missed: dict[str, int] = {}

    def frame(self, frame: PresenceFrame, now: float) -> None:
        """A presence request from the client."""
        port = self._port
        match frame:
            case QueryPresence(rid=rid, peer_ids=peer_ids):
                self._query(rid, peer_ids, now)
            case Subscribe(rid=rid, peer_ids=peer_ids):
                self._subscribe(rid, peer_ids, now)
            case Unsubscribe(rid=rid, peer_ids=peer_ids):
                self._unsubscribe(rid, peer_ids, now)
            case QuerySubscriptions(rid=rid):
                if not port.allow("query_subscriptions", now):
                    port.send(PeersReply(rid, QueryPeersBySubscriptionOptionErr.TOO_OFTEN))
                else:
                    port.send(PeersReply(rid, 0, sorted(self.watching)))
            case _:
                assert_never(frame)

    def changed(self, user_id: str, state: PeerOnlineState, *, connected: bool) -> None:
        """A watched user's state changed: push it now, or keep it for the next link."""
        if user_id not in self.watching:
            return
        if connected:
            self._push(PresencePush({user_id: int(state)}))
        else:
            self._missed[user_id] = int(state)

    def push_missed(self) -> None:
        """A link came back: changes missed meanwhile arrive as one push."""
        if self._missed:
            missed, self._missed = self._missed, {}
            self._push(PresencePush(missed))

    def stop_watching(self) -> None:
        """The session ends: unwatch everyone."""
        self._port.perform(Unwatch(tuple(self.watching)))
        self.watching.clear()

    def _query(self, rid: int, peer_ids: list[str], now: float) -> None:
        port = self._port
        if not valid_peer_list(peer_ids, MAX_QUERY_PEERS):
            port.send(PresenceReply(rid, QueryPeersOnlineStatusErr.INVALID_ARGUMENT))
        elif not port.allow("presence_query", now):
            port.send(PresenceReply(rid, QueryPeersOnlineStatusErr.TOO_OFTEN))
        else:
            found = port.presence_states(peer_ids)
            states = [int(as_query_answer(found[p])) for p in peer_ids]
            port.send(PresenceReply(rid, QueryPeersOnlineStatusErr.OK, states))

    def _subscribe(self, rid: int, peer_ids: list[str], now: float) -> None:
        port = self._port
        code = check_subscribe(self.watching, peer_ids)
        if code is PeerSubscriptionStatusErr.OK and not port.allow("subscribe", now):
            code = PeerSubscriptionStatusErr.TOO_OFTEN
        port.send(Reply(rid, code))
        if code is PeerSubscriptionStatusErr.OK:
            self.watching.update(peer_ids)
            states = port.watch(list(peer_ids))
            # Every id of the request, new or not: a re-subscribe after a reconnect
            # is how a client learns what changed while it was away.
            self._push(PresencePush({p: int(s) for p, s in states.items()}))

    def _unsubscribe(self, rid: int, peer_ids: list[str], now: float) -> None:
        port = self._port
        if not valid_peer_list(peer_ids, len(peer_ids) or 1):
            code = PeerSubscriptionStatusErr.INVALID_ARGUMENT
        elif not port.allow("unsubscribe", now):
            code = PeerSubscriptionStatusErr.TOO_OFTEN
        else:
            code = PeerSubscriptionStatusErr.OK
            self.watching.difference_update(peer_ids)
            port.perform(Unwatch(tuple(peer_ids)))
        port.send(Reply(rid, code))


def attribute_request(port: SessionPort, user_id: str, frame: AttributeFrame, now: float) -> None:
    """A user-attribute request from ``user_id``'s client: its own writes, anyone's reads."""
    if isinstance(frame, GetUserAttributes):
        _get_attributes(port, frame, now)
        return
    if not port.allow("attribute_write", now):
        port.send(Reply(frame.rid, AttributeOperationErr.TOO_OFTEN))
        return
    code, after = apply_write(
        port.attributes(user_id),
        _WRITES[type(frame)],
        getattr(frame, "attributes", None),
        getattr(frame, "keys", None),
    )
    if code is AttributeOperationErr.OK:
        port.perform(SaveAttributes(after))
    port.send(Reply(frame.rid, code))


def _get_attributes(port: SessionPort, frame: GetUserAttributes, now: float) -> None:
    rid, user_id = frame.rid, frame.user_id
    if not is_valid_user_id(user_id):
        port.send(AttributesReply(rid, AttributeOperationErr.INVALID_ARGUMENT, user_id[:64]))
    elif not port.allow("attribute_read", now):
        port.send(AttributesReply(rid, AttributeOperationErr.TOO_OFTEN, user_id))
    elif port.route(user_id) is None:
        port.send(AttributesReply(rid, AttributeOperationErr.USER_NOT_FOUND, user_id))
    else:
        attributes = select(port.attributes(user_id), frame.keys)
        port.send(AttributesReply(rid, AttributeOperationErr.OK, user_id, attributes))
