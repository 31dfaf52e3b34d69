"""Load-test arithmetic: percentiles, losses, duplicates, reordering, merging, JSON."""

from __future__ import annotations

import json
import random

import pytest

from rtm_actors.loadtest.stats import (
    CHANNEL_STREAM,
    INVITE_STREAM,
    PEER_STREAM,
    IntervalSet,
    Stats,
    error_name,
    member_key,
    parse_stamp,
    stamp,
    stream_key,
)
from rtm_actors.protocol.codes import PeerMessageErrCode


def test_interval_set_adds_merges_and_counts():
    """Adds in any order coalesce into intervals; repeats are refused."""
    s = IntervalSet()
    for v in (1, 2, 3, 7, 5, 6, 10):
        assert s.add(v)
    assert not s.add(6)
    assert s.intervals() == [[1, 3], [5, 7], [10, 10]]
    assert s.add(4)
    assert s.intervals() == [[1, 7], [10, 10]]
    assert len(s) == 8
    assert 4 in s
    assert 8 not in s
    assert s.bounds() == (1, 10)
    assert s.count_within(6, 10) == 3


def test_interval_set_common_and_update_match_python_sets():
    """common() and update() agree with plain sets on random data."""
    rng = random.Random(1)
    for _ in range(50):
        a = {rng.randrange(200) for _ in range(80)}
        b = {rng.randrange(200) for _ in range(80)}
        sa, sb = IntervalSet(), IntervalSet()
        for v in a:
            sa.add(v)
        for v in b:
            sb.add(v)
        assert len(sa) == len(a)
        assert sa.common(sb) == len(a & b)
        assert IntervalSet(sa.intervals()) == sa
        sa.update(sb)
        assert len(sa) == len(a | b)
        assert all(v in sa for v in a | b)


def test_stamp_round_trip_and_padding():
    """A stamp carries sender, seq and intended time; padding reaches the size."""
    text = stamp("lt7", 42, 1700000000.123456, size=64)
    assert len(text) == 64
    assert parse_stamp(text) == ("lt7", 42, 1700000000.123456)
    assert parse_stamp("hello") is None
    assert parse_stamp("a/b/c/") is None


def test_error_names_use_the_agora_family():
    """Codes are named Family.NAME; anything else by its str."""
    assert error_name(PeerMessageErrCode.PEER_UNREACHABLE) == "PeerMessageErrCode.PEER_UNREACHABLE"
    assert error_name("exception.ValueError") == "exception.ValueError"


def test_latency_is_measured_from_the_intended_time():
    """Percentiles come from now - intended, so a late send shows as latency."""
    stats = Stats(origin=1000.0)
    key = stream_key(PEER_STREAM, "a", "b")
    for seq in range(1, 101):
        # intended at 1000+seq, delivered seq ms later
        assert stats.record_delivered(key, seq, 1000.0 + seq, 1000.0 + seq + seq / 1000)
    summary = stats.summary()["latency_ms"]
    assert summary["count"] == 100
    assert summary["p50"] == pytest.approx(50, rel=0.01)
    assert summary["p99"] == pytest.approx(99, rel=0.01)
    assert summary["max"] == pytest.approx(100, rel=0.01)
    assert summary["min"] == pytest.approx(1, rel=0.01)


def test_duplicates_and_out_of_order_are_counted_per_stream():
    """A repeat is a duplicate (latency recorded once); an older seq is out of order."""
    stats = Stats()
    key = stream_key(PEER_STREAM, "a", "b")
    other = stream_key(PEER_STREAM, "c", "b")
    for seq in (1, 2, 4, 3, 3, 5, 2):
        stats.record_delivered(key, seq, 0.0, 0.01)
    stats.record_delivered(other, 1, 0.0, 0.01)  # a new stream starts fresh
    assert stats.delivered == 6
    assert stats.duplicates == 2
    assert stats.out_of_order == 1
    assert stats.latency.get_total_count() == 6


def test_peer_losses_are_acknowledged_but_never_delivered():
    """Only acknowledged messages can be lost; a delivered unacknowledged one is not."""
    stats = Stats()
    key = stream_key(PEER_STREAM, "a", "b")
    for seq in range(1, 11):
        stats.record_sent(0.0)
        if seq != 10:
            stats.record_acked(key, seq, 0.0)
    for seq in (1, 2, 3, 5, 6, 8, 10):
        stats.record_delivered(key, seq, 0.0, 0.001)
    assert stats.losses() == (9, 3)  # 4, 7, 9 acked, never delivered
    summary = stats.summary()
    assert summary["lost"] == 3
    assert summary["loss_ratio"] == pytest.approx(3 / 9)


def test_channel_losses_count_every_other_member():
    """A channel message is expected at every member but its sender; partial members
    are held only to the gaps between what they got."""
    stats = Stats()
    key = stream_key(CHANNEL_STREAM, "a", "ch")
    for seq in range(1, 6):
        stats.record_acked(key, seq, 0.0)
    for member in ("a", "b", "c"):
        stats.record_member("ch", member, full=True)
    stats.record_member("ch", "late", full=False)
    for seq in range(1, 6):
        stats.record_delivered(member_key(key, "b"), seq, 0.0, 0.001)
    for seq in (1, 2, 4):
        stats.record_delivered(member_key(key, "c"), seq, 0.0, 0.001)
    for seq in (3, 5):  # joined late: only 4 is missing
        stats.record_delivered(member_key(key, "late"), seq, 0.0, 0.001)
    assert stats.losses() == (5 + 5 + 3, 2 + 1)


def test_invitation_streams_count_like_peer_messages():
    """An invitation the callee's SDK acknowledged but the app never saw is lost."""
    stats = Stats()
    key = stream_key(INVITE_STREAM, "a", "b")
    stats.record_acked(key, 1, 0.0)
    stats.record_acked(key, 2, 0.0)
    stats.record_delivered(key, 1, 0.0, 0.002)
    assert stats.losses() == (2, 1)
    assert "invite" in stats.summary()["latency_ms_by_kind"]


def test_time_series_buckets_by_second_since_origin():
    """Events land in the second after the origin in which they happened."""
    stats = Stats(origin=100.0)
    stats.record_sent(100.2)
    stats.record_sent(101.9)
    stats.record_error("X.Y", 101.0)
    stats.record_delivered(stream_key(PEER_STREAM, "a", "b"), 1, 101.0, 101.5)
    stats.sample_states(101.1, {"CONNECTED": 3})
    stats.sample_states(101.8, {"CONNECTED": 4})
    rows = stats.series_rows()
    assert [r["sent"] for r in rows] == [1, 1]
    assert rows[1]["errors"] == 1
    assert rows[1]["delivered"] == 1
    assert rows[1]["p50_ms"] == pytest.approx(500, rel=0.01)
    assert rows[1]["states"] == {"CONNECTED": 3}
    assert rows[0]["p50_ms"] is None


def make_worker(origin, users, deliveries):
    stats = Stats(origin)
    for sender, receiver in users:
        key = stream_key(PEER_STREAM, sender, receiver)
        for seq in range(1, 4):
            stats.record_sent(origin + seq)
            stats.record_acked(key, seq, origin + seq)
    for sender, receiver, seq, ms in deliveries:
        key = stream_key(PEER_STREAM, sender, receiver)
        stats.record_delivered(key, seq, origin + seq, origin + seq + ms / 1000)
    stats.record_op("login", 0.010)
    stats.record_error("LoginErrCode.TIMEOUT", origin)
    stats.record_state("CONNECTED", "LOGIN_SUCCESS")
    stats.sample_states(origin + 1, {"CONNECTED": len(users)})
    stats.mark("go", origin + 1)
    stats.mark("end", origin + 5)
    return stats


def test_merging_adds_everything_and_finds_cross_process_losses():
    """Two processes' stats merge into one: sums, histograms, and losses across them."""
    origin = 50.0
    # a (worker 1) sends to b (worker 2) and b to a; b misses a's seq 3
    w1 = make_worker(origin, [("a", "b")], [("b", "a", s, 10 * s) for s in (1, 2, 3)])
    w2 = make_worker(origin, [("b", "a")], [("a", "b", s, 20 * s) for s in (1, 2)])
    assert w1.losses() == (3, 3)  # alone, w1 sees none of its sends delivered
    merged = Stats(origin)
    merged.merge(w1)
    merged.merge(w2)
    assert merged.sent == 6
    assert merged.acked == 6
    assert merged.delivered == 5
    assert merged.losses() == (6, 1)
    assert merged.errors["LoginErrCode.TIMEOUT"] == 2
    assert merged.state_changes["CONNECTED/LOGIN_SUCCESS"] == 2
    assert merged.ops["login"].get_total_count() == 2
    assert merged.latency.get_total_count() == 5
    assert merged.summary()["latency_ms"]["max"] == pytest.approx(40, rel=0.01)
    assert merged.states[1] == {"CONNECTED": 2}
    assert merged.summary()["delivered_per_s"] == pytest.approx(5 / 4)


def test_json_round_trip_keeps_every_figure():
    """to_dict -> JSON -> from_dict gives the same summary and series."""
    stats = make_worker(10.0, [("a", "b")], [("a", "b", 1, 5), ("a", "b", 2, 7)])
    stats.record_member("ch", "a", full=True)
    stats.counters["presence_events"] += 3
    again = Stats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert again.summary() == stats.summary()
    assert again.series_rows() == stats.series_rows()
    assert again.members == {"ch": {"a": True}}
    # merging a decoded copy doubles the counts
    again.merge(stats)
    assert again.sent == 2 * stats.sent
