"""The node's per-user call limits: shared by a user's sessions, bounded in memory."""

from __future__ import annotations

from rtm_actors.server.config import ServerConfig
from rtm_actors.server.user_rates import LOGINS, MESSAGES, UserRates

ALICE = ("app", "alice")


def rates(**overrides) -> UserRates:
    return UserRates(ServerConfig(**overrides))


def test_a_limit_counts_every_call_of_the_user_whatever_the_session():
    """The registry is keyed by user, so a new session finds the old count."""
    r = rates(message_rate=3, message_rate_window=3.0)
    assert all(r.allow(ALICE, MESSAGES, 100.0) for _ in range(3))
    assert not r.allow(ALICE, MESSAGES, 101.0)
    assert r.allow(ALICE, MESSAGES, 103.0)


def test_calls_agora_counts_apart_have_limiters_apart():
    """Subscribe and unsubscribe share a setting but not a count."""
    r = rates(subscribe_rate=(1, 5.0))
    assert r.allow(ALICE, "subscribe", 10.0)
    assert not r.allow(ALICE, "subscribe", 10.0)
    assert r.allow(ALICE, "unsubscribe", 10.0)


def test_idle_users_are_forgotten_and_active_ones_keep_their_count():
    """100,000 one-off users leave nothing behind two generations later, while a user
    who keeps calling is held to its limit across a generation swap."""
    r = rates(message_rate=5, message_rate_window=3.0)
    t, window = 1000.0, r.max_window
    for i in range(100_000):
        r.allow(("app", f"u{i}"), MESSAGES, t)
    assert len(r) == 100_000
    r.allow(ALICE, MESSAGES, t + window)
    r.allow(ALICE, MESSAGES, t + 2 * window)
    assert len(r) == 1
    busy = rates(message_rate=2, message_rate_window=5.0)
    assert busy.allow(ALICE, MESSAGES, 4.0)
    assert busy.allow(ALICE, MESSAGES, 4.9)
    assert not busy.allow(ALICE, MESSAGES, 5.2)  # after a swap, the count is the same


def test_same_channel_join_limiters_are_pruned_only_when_idle():
    """Channels joined over time keep few limiters; a channel joined lately keeps its count."""
    r = rates(same_channel_join_rate=(2, 5.0))
    for i in range(1000):
        r.allow_join(ALICE, f"c{i}", 10.0 + i * 0.1)
    assert len(r._limiters(ALICE, 110.0)) <= 128 + 60
    assert r.allow_join(ALICE, "busy", 110.0)
    assert r.allow_join(ALICE, "busy", 110.0)
    for i in range(200):
        r.allow_join(ALICE, f"d{i}", 110.0 + i * 0.005)
    assert not r.allow_join(ALICE, "busy", 111.5)


def test_a_login_flood_of_other_user_ids_does_not_reset_a_users_login_limit():
    """The gateway's login limiters used to be cleared all at once past 100,000 user
    ids: logging in as 100,001 others gave every user a fresh login budget."""
    r = rates(login_rate=2)
    t = 50.0
    assert r.allow(ALICE, LOGINS, t)
    assert r.allow(ALICE, LOGINS, t)
    for i in range(100_001):
        r.allow(("app", f"u{i}"), LOGINS, t + 0.1)
    assert not r.allow(ALICE, LOGINS, t + 0.2)
    assert r.allow(ALICE, LOGINS, t + 1.1)
