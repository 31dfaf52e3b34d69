"""Presence rules (spec 1.3, 2.11), pure.

A logged-in user is ONLINE; once the server has heard nothing from its link for
``unreachable_after`` seconds (Agora: 6 s) it is UNREACHABLE to subscribers; when its
session ends (logout, or the 30 s grace period ran out) it is OFFLINE. A query answers
ONLINE for an UNREACHABLE user: Agora never returns UNREACHABLE to a query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from rtm_actors.protocol.codes import PeerOnlineState, PeerSubscriptionStatusErr
from rtm_actors.protocol.limits import is_valid_user_id

MAX_QUERY_PEERS: Final = 256
MAX_SUBSCRIBED_PEERS: Final = 512


def as_query_answer(state: PeerOnlineState) -> PeerOnlineState:
    """What a query reports for a user in ``state`` (never UNREACHABLE)."""
    return PeerOnlineState.ONLINE if state is PeerOnlineState.UNREACHABLE else state


def valid_peer_list(peer_ids: Sequence[str], max_peers: int) -> bool:
    """1 to ``max_peers`` ids, each a valid user id."""
    return 0 < len(peer_ids) <= max_peers and all(is_valid_user_id(p) for p in peer_ids)


def check_subscribe(
    current: set[str], peer_ids: Iterable[str], limit: int = MAX_SUBSCRIBED_PEERS
) -> PeerSubscriptionStatusErr:
    """Whether subscribing to ``peer_ids`` on top of ``current`` stays within the limit."""
    peers = list(peer_ids)
    if not valid_peer_list(peers, limit):
        return (
            PeerSubscriptionStatusErr.OVERFLOW
            if len(peers) > limit
            else PeerSubscriptionStatusErr.INVALID_ARGUMENT
        )
    if len(current | set(peers)) > limit:
        return PeerSubscriptionStatusErr.OVERFLOW
    return PeerSubscriptionStatusErr.OK
