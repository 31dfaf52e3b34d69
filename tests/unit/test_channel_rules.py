"""Channel rules with no IO: replay, count pacing, member sampling."""

from __future__ import annotations

import random

from rtm_actors.protocol.channel import (
    CountPacer,
    ReplayBuffer,
    count_interval,
    member_events_enabled,
    sample_members,
)


def test_replay_gives_newer_recent_messages_of_others_oldest_first():
    """Only messages after the cursor, younger than the window, not the member's own."""
    buf: ReplayBuffer[str] = ReplayBuffer(size=32, window=30.0)
    for i in range(1, 6):
        buf.append(i, at=float(i), sender_id="bob" if i == 4 else "alice", item=f"m{i}")
    assert buf.since(2, now=10.0) == ["m3", "m4", "m5"]
    assert buf.since(2, now=10.0, exclude_sender="bob") == ["m3", "m5"]
    assert buf.since(0, now=33.5) == ["m4", "m5"]  # m1..m3 are older than 30 s


def test_replay_keeps_at_most_32():
    """The buffer holds the last 32 messages."""
    buf: ReplayBuffer[int] = ReplayBuffer()
    for i in range(1, 101):
        buf.append(i, 0.0, "a", i)
    assert buf.since(0, 0.0) == list(range(69, 101))


def test_counts_go_out_on_change_at_most_once_per_interval():
    """A count is due when it changed and the interval since the last one has passed."""
    pacer = CountPacer()
    assert pacer.due(1, now=0.0)
    assert not pacer.due(1, now=5.0)  # unchanged
    assert not pacer.due(2, now=0.5)  # too soon
    assert pacer.due(2, now=1.0)
    assert not pacer.due(600, now=2.0)  # above 512: every 3 s
    assert pacer.due(600, now=4.0)
    assert not pacer.due(601, now=6.0)
    assert pacer.due(601, now=7.0)


def test_thresholds_at_512():
    """Member events and 1 s counts up to 512 members; above, no events and 3 s counts."""
    assert member_events_enabled(512)
    assert not member_events_enabled(513)
    assert count_interval(512) == 1.0
    assert count_interval(513) == 3.0


def test_sample_members_caps_at_the_limit():
    """Up to the limit all members come back; beyond, a random subset of that size."""
    members = [f"u{i}" for i in range(600)]
    assert sample_members(members[:10], 512, random.shuffle) == members[:10]
    chosen = sample_members(members, 512, random.Random(1).shuffle)
    assert len(chosen) == 512
    assert len(set(chosen)) == 512
    assert set(chosen) <= set(members)
