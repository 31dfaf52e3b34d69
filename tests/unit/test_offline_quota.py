"""What a sender and an app may hold in the offline store."""

from __future__ import annotations

from rtm_actors.server.offline_quota import OfflineQuota

DAY = 86400.0
T0 = 1_700_000_000.0


def quota(**kw) -> OfflineQuota:
    return OfflineQuota(kw.get("per_sender", (3, 1000)), kw.get("per_app", (5, 10_000)), 7 * DAY)


def test_a_sender_gets_its_message_count_and_bytes_then_no_more():
    """Three messages, or 1,000 bytes, whichever comes first."""
    q = quota()
    assert q.admit("app", "eve", 400, T0)
    assert q.admit("app", "eve", 400, T0)
    assert not q.admit("app", "eve", 400, T0)  # bytes
    assert q.admit("app", "eve", 100, T0)
    assert not q.admit("app", "eve", 1, T0)  # count


def test_the_app_quota_holds_across_senders():
    """Five messages for the whole app, however many senders."""
    q = quota(per_app=(5, 10_000))
    admitted = [q.admit("app", f"s{i}", 10, T0) for i in range(8)]
    assert admitted.count(True) == 5
    assert q.admit("other-app", "s0", 10, T0)


def test_a_delivered_message_makes_room_again():
    """``release`` on delivery gives the sender and the app their room back."""
    q = quota()
    for _ in range(3):
        assert q.admit("app", "eve", 10, T0)
    assert not q.admit("app", "eve", 10, T0 + 60)
    q.release("app", "eve", 10, T0)
    assert q.admit("app", "eve", 10, T0 + 60)


def test_messages_stop_counting_once_past_the_store_ttl():
    """After the TTL (and a bucket) the quota is whole again and the sender forgotten."""
    q = quota()
    for _ in range(3):
        assert q.admit("app", "eve", 10, T0)
    assert not q.admit("app", "eve", 10, T0 + 6 * DAY)
    assert q.admit("app", "eve", 10, T0 + 8 * DAY)
    assert q.admit("app", "someone", 10, T0 + 30 * DAY)
    assert q.senders() == 1  # eve's old bucket swept with her
