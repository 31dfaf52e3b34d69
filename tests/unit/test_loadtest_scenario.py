"""The load plan: pure data, the same for the same seed, and shaped as the scenario says."""

from __future__ import annotations

import itertools

import pytest

from rtm_actors.loadtest.scenario import (
    CHANNEL,
    INVITE,
    PEER,
    QUERY,
    QUIET_BEFORE_DROP,
    SCENARIOS,
    SETTLE_AFTER_DROP,
    Scenario,
    SplitMix,
    build_plan,
    with_overrides,
)


def all_ticks(plan):
    return [list(plan.ticks(u)) for u in plan.users]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_plan(name):
    """Two plans built from the same arguments are equal, ticks included."""
    a = build_plan(name, 50, seed=7, rate=2.0, duration=10.0)
    b = build_plan(name, 50, seed=7, rate=2.0, duration=10.0)
    assert a == b
    assert all_ticks(a) == all_ticks(b)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_another_seed_another_plan(name):
    """A different seed changes who talks to whom or when."""
    a = build_plan(name, 50, seed=7, rate=2.0, duration=10.0)
    b = build_plan(name, 50, seed=8, rate=2.0, duration=10.0)
    assert a.users != b.users


def test_peer_partners_form_a_ring_without_self():
    """In peer, each user has one partner, never itself, and each user is someone's partner."""
    plan = build_plan("peer", 31, seed=3)
    partners = [u.partners for u in plan.users]
    assert all(len(p) == 1 for p in partners)
    assert all(u.user_id not in u.partners for u in plan.users)
    assert sorted(p[0] for p in partners) == sorted(u.user_id for u in plan.users)


def test_ticks_follow_the_rate_and_stay_in_the_duration():
    """A user acts rate x duration times, 1/rate apart, from its offset."""
    plan = build_plan("peer", 10, seed=1, rate=4.0, duration=5.0)
    for user in plan.users:
        ticks = list(plan.ticks(user))
        assert len(ticks) == 20
        assert 0 <= ticks[0].at < 0.25
        assert ticks[-1].at < 5.0
        gaps = {round(b.at - a.at, 9) for a, b in itertools.pairwise(ticks)}
        assert gaps == {0.25}
        assert {t.action for t in ticks} == {PEER}
        assert {t.target for t in ticks} == set(user.partners)


def test_channels_have_the_planned_size_and_memberships():
    """channel: every user is in two channels of at most 10, members agree both ways."""
    plan = build_plan("channel", 45, seed=5)
    assert all(len(u.channels) == 2 for u in plan.users)
    assert all(2 <= len(m) <= 10 for m in plan.channels.values())
    for user in plan.users:
        for channel in user.channels:
            assert user.user_id in plan.channels[channel]
    ticks = list(plan.ticks(plan.users[0]))
    assert {t.action for t in ticks} == {CHANNEL}
    assert {t.target for t in ticks} <= set(plan.users[0].channels)


def test_presence_subscriptions_and_churn():
    """presence: 5 watched peers each (not itself); 30% of users drop once mid-run."""
    plan = build_plan("presence", 40, seed=9, duration=20.0)
    for user in plan.users:
        assert len(set(user.subscriptions)) == 5
        assert user.user_id not in user.subscriptions
    droppers = [u for u in plan.users if u.drops]
    assert len(droppers) == 12
    assert all(4.0 <= u.drops[0] <= 14.0 for u in droppers)


def test_ticks_pause_around_a_drop():
    """No tick falls in the quiet spell before a drop or while the user is away."""
    plan = build_plan("storm", 10, seed=2, rate=10.0, duration=10.0)
    for user in plan.users:
        assert user.drops == (4.0,)
        lo = 4.0 - QUIET_BEFORE_DROP
        hi = 4.0 + plan.scenario.down_for + SETTLE_AFTER_DROP
        ticks = [t.at for t in plan.ticks(user)]
        assert ticks
        assert not [t for t in ticks if lo <= t < hi]


def test_mixed_draws_every_action_by_weight():
    """mixed: over many ticks each action appears, peer most often."""
    plan = build_plan("mixed", 20, seed=4, rate=10.0, duration=30.0)
    counts = dict.fromkeys((PEER, CHANNEL, QUERY, INVITE), 0)
    for user in plan.users:
        for tick in plan.ticks(user):
            counts[tick.action] += 1
    assert all(counts.values())
    assert counts[PEER] > counts[CHANNEL] > counts[QUERY]


def test_shards_split_users_without_overlap():
    """Worker shards cover every user exactly once."""
    plan = build_plan("peer", 11, seed=1)
    shards = [plan.shard(k, 3) for k in range(3)]
    ids = [u.user_id for shard in shards for u in shard]
    assert sorted(ids) == sorted(u.user_id for u in plan.users)
    assert len(ids) == len(set(ids))


def test_bad_scenarios_are_refused():
    """A mix with an unknown action, or channels of one, is a ValueError."""
    with pytest.raises(ValueError, match="bad mix"):
        Scenario("x", "x", mix=(("dance", 1.0),))
    with pytest.raises(ValueError, match="channel_size"):
        with_overrides(SCENARIOS["channel"], channel_size=1)


def test_splitmix_matches_the_reference_sequence():
    """SplitMix64 from seed 0 gives the published first outputs; floats lie in [0, 1)."""
    rng = SplitMix(0)
    assert rng.next64() == 0xE220A8397B1DCDAF
    assert rng.next64() == 0x6E789E6AA1B965F4
    values = [SplitMix(7).random() for _ in range(3)]
    assert values[0] == values[1] == values[2]
    rng = SplitMix(123)
    assert all(0.0 <= rng.random() < 1.0 for _ in range(1000))
