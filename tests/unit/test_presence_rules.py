"""Presence rules and the subscription limit, with no IO."""

from __future__ import annotations

from rtm_actors.protocol.codes import PeerOnlineState as S, PeerSubscriptionStatusErr as E
from rtm_actors.protocol.presence import (
    MAX_SUBSCRIBED_PEERS,
    as_query_answer,
    check_subscribe,
    valid_peer_list,
)


def test_a_query_never_answers_unreachable():
    """UNREACHABLE users are reported ONLINE to a query; the others as they are."""
    assert as_query_answer(S.UNREACHABLE) is S.ONLINE
    assert as_query_answer(S.ONLINE) is S.ONLINE
    assert as_query_answer(S.OFFLINE) is S.OFFLINE


def test_peer_lists_need_one_to_max_valid_ids():
    """Lists must be non-empty, within the bound, of valid user ids."""
    assert valid_peer_list(["a", "b"], 256)
    assert not valid_peer_list([], 256)
    assert not valid_peer_list(["a"] * 257, 256)
    assert not valid_peer_list(["ok", "bad/id"], 256)


def test_subscription_total_is_bounded_at_512():
    """Subscribing beyond 512 peers in all is OVERFLOW; re-subscribing the same is fine."""
    current = {f"p{i}" for i in range(510)}
    assert check_subscribe(current, ["x", "y"]) is E.OK
    assert check_subscribe(current, ["x", "y", "z"]) is E.OVERFLOW
    assert check_subscribe(current, ["p1", "p2", "x", "y"]) is E.OK
    assert check_subscribe(set(), [f"q{i}" for i in range(MAX_SUBSCRIBED_PEERS + 1)]) is E.OVERFLOW
    assert check_subscribe(set(), ["bad/id"]) is E.INVALID_ARGUMENT
    assert check_subscribe(set(), []) is E.INVALID_ARGUMENT
