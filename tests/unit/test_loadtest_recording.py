"""Latencies recorded in bulk give the very histograms of one HDR record per value:
the same counts, extremes and digits in the summary, the series and the JSON."""

from __future__ import annotations

import json
import random

import pytest
from hdrh.histogram import HdrHistogram

from rtm_actors.loadtest.scenario import SCENARIOS, build_plan, with_overrides
from rtm_actors.loadtest.stats import (
    CHANNEL_STREAM,
    DIGITS,
    INVITE_STREAM,
    MAX_US,
    OP_BATCH,
    PEER_STREAM,
    SERIES_DIGITS,
    Stats,
    histogram_summary,
    member_key,
    new_histogram,
    record_all,
    record_seconds,
    stream_key,
)


def same(a, b) -> bool:
    """Equal counts, total and extremes, and the same bytes when encoded."""
    return (
        a.equals(b)
        and (a.total_count, a.min_value, a.max_value) == (b.total_count, b.min_value, b.max_value)
        and a.encode() == b.encode()
    )


@pytest.mark.parametrize("digits", [SERIES_DIGITS, DIGITS])
def test_record_all_is_record_value_for_each(digits):
    """Bucket edges, the range's ends and a spread of latencies, twice over."""
    rng = random.Random(digits)
    values = [1, 2, 2047, 2048, 2049, 4095, 4096, 65535, MAX_US, MAX_US - 1]
    values += [round(rng.lognormvariate(8.5, 1.5)) + 1 for _ in range(5000)]
    one, bulk, other = (HdrHistogram(1, MAX_US, digits) for _ in range(3))
    for v in values + values[:100]:
        one.record_value(v)
    record_all(values, bulk, other)
    record_all(values[:100], bulk)
    record_all([], bulk)
    assert same(one, bulk)
    assert other.total_count == len(values)


def deliveries(seed: int) -> list[tuple[str, int, float, float]]:
    """``(key, seq, intended, now)``: three kinds over 12 s, in time order, with
    repeats, reordering, a negative latency and one beyond the histograms' range."""
    rng = random.Random(seed)
    keys = [
        stream_key(PEER_STREAM, "a", "b"),
        stream_key(PEER_STREAM, "b", "a"),
        member_key(stream_key(CHANNEL_STREAM, "a", "ch"), "c"),
        stream_key(INVITE_STREAM, "c", "a"),
    ]
    out = []
    for seq in range(1, 400):
        for key in keys:
            intended = 100.0 + seq * 0.03 + rng.random() * 0.01
            out.append((key, seq, intended, intended + rng.lognormvariate(-5, 1)))
    out += [
        (keys[0], 5, 105.0, 105.2),  # a repeat
        (keys[1], 500, 108.0, 107.5),  # a negative latency: 1 us
        (keys[2], 0, 90.0, 108.0),  # out of order
        (keys[3], 450, -4000.0, 111.5),  # beyond an hour: the histograms' top
    ]
    out.sort(key=lambda d: d[3])
    return out


def direct(items, ops) -> dict:
    """What one ``record_value`` per delivery and histogram gives (the old way)."""
    overall, by_kind, series, op_hist = new_histogram(), {}, {}, new_histogram()
    seen = set()
    for key, seq, intended, now in items:
        if (key, seq) in seen:
            continue
        seen.add((key, seq))
        kind = key.split("/", 1)[0]
        second = max(0, int(now - 100.0))
        for histogram in (
            overall,
            by_kind.setdefault(kind, new_histogram()),
            series.setdefault(second, new_histogram(SERIES_DIGITS)),
        ):
            record_seconds(histogram, now - intended)
    for seconds in ops:
        record_seconds(op_hist, seconds)
    return {"latency": overall, "by_kind": by_kind, "series": series, "op": op_hist}


def record(stats: Stats, items, ops, *, peek_every: int = 0) -> None:
    for n, (key, seq, intended, now) in enumerate(items, 1):
        stats.record_delivered(key, seq, intended, now)
        if peek_every and n % peek_every == 0:
            stats.summary()  # a read between records settles what waits
            stats.series_rows()
    for seconds in ops:
        stats.record_op("schedule_lag", seconds)


@pytest.mark.parametrize("peek_every", [0, 97])
def test_the_report_is_that_of_one_record_per_delivery(peek_every):
    """Summary, per-second rows and encoded histograms equal those of direct records,
    whether or not the stats are read while deliveries still come."""
    items = deliveries(1)
    ops = [random.Random(2).random() / 50 for _ in range(OP_BATCH * 2 + 7)] + [-1.0, 1e9]
    stats = Stats(100.0)
    record(stats, items, ops, peek_every=peek_every)
    want = direct(items, ops)
    summary = stats.summary()
    assert summary["latency_ms"] == histogram_summary(want["latency"])
    assert summary["latency_ms_by_kind"] == {
        name: histogram_summary(want["by_kind"][kind])
        for kind, name in (
            (CHANNEL_STREAM, "channel"),
            (INVITE_STREAM, "invite"),
            (PEER_STREAM, "peer"),
        )
    }
    assert summary["ops_ms"] == {"schedule_lag": histogram_summary(want["op"])}
    assert summary["delivered"] == sum(h.total_count for h in want["by_kind"].values())
    assert summary["duplicates"] == 1
    assert same(stats.latency, want["latency"])
    for kind, histogram in want["by_kind"].items():
        assert same(stats.latency_by_kind[kind], histogram)
    assert same(stats.ops["schedule_lag"], want["op"])
    rows = stats.series_rows()
    for t, histogram in want["series"].items():
        assert same(stats.series[t].latency, histogram)
        row = rows[t]
        assert row["delivered"] == histogram.total_count
        assert row["p99_ms"] == histogram.get_value_at_percentile(99.0) / 1000
        assert row["max_ms"] == histogram.get_max_value() / 1000


def test_json_and_merging_carry_the_pending_latencies():
    """Two processes' stats, each with latencies still waiting, merge through JSON into
    the report of direct records of both."""
    items = deliveries(3)
    first, second = Stats(100.0), Stats(100.0)
    record(first, items[::2], [0.001, 0.002])
    record(second, items[1::2], [0.003])
    merged = Stats(100.0)
    for part in (first, second):
        merged.merge(Stats.from_dict(json.loads(json.dumps(part.to_dict()))))
    want = direct(items, [0.001, 0.002, 0.003])
    assert merged.summary()["latency_ms"] == histogram_summary(want["latency"])
    assert merged.summary()["ops_ms"]["schedule_lag"] == histogram_summary(want["op"])
    rows = merged.series_rows()
    assert [r["p50_ms"] for r in rows] == [
        want["series"][t].get_value_at_percentile(50.0) / 1000 if t in want["series"] else None
        for t in range(len(rows))
    ]


@pytest.mark.parametrize(
    "scenario",
    [SCENARIOS["peer"], SCENARIOS["invite"], with_overrides(SCENARIOS["storm"], churn=0.5)],
)
def test_a_plan_with_nothing_to_draw_skips_the_draws_to_the_same_ticks(scenario):
    """One action at one partner: the ticks are those the draws would have made."""
    plan = build_plan(scenario, 30, seed=5, rate=7.0, duration=9.0)
    for user in plan.users:
        drawn = plan._drawn_ticks(user, [scenario.mix[0][0]], {scenario.mix[0][0]: user.partners})
        assert list(plan.ticks(user)) == list(drawn)
