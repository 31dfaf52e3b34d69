"""Rate limits, delivery windows and de-duplication, driven with explicit times."""

from __future__ import annotations

from hypothesis import given, strategies as st

from rtm_actors.protocol.flow import DeliveryWindow, RateLimiter, RecentIds, Unacked

# -- RateLimiter -------------------------------------------------------------------


def test_rate_limiter_allows_limit_events_then_refuses() -> None:
    """Within one window, the first ``limit`` events pass and the next is refused."""
    rl = RateLimiter(limit=2, window=1.0)
    assert rl.allow(0.0)
    assert rl.allow(0.1)
    assert not rl.allow(0.2)
    assert not rl.allow(0.99)


def test_rate_limiter_window_is_half_open() -> None:
    """An event exactly ``window`` seconds old no longer counts."""
    rl = RateLimiter(limit=1, window=1.0)
    assert rl.allow(10.0)
    assert not rl.allow(10.999)
    assert rl.allow(11.0)


def test_refused_events_do_not_count() -> None:
    """A refused event is not recorded, so it does not extend the wait."""
    rl = RateLimiter(limit=1, window=1.0)
    assert rl.allow(0.0)
    for t in (0.2, 0.4, 0.6, 0.8):
        assert not rl.allow(t)
    assert rl.allow(1.0)


def test_rate_limiter_is_a_sliding_window() -> None:
    """The window slides with each event: old events expire one by one."""
    rl = RateLimiter(limit=3, window=3.0)
    assert rl.allow(0.0)
    assert rl.allow(1.0)
    assert rl.allow(2.0)
    assert not rl.allow(2.5)
    assert rl.allow(3.0)  # the event at 0.0 expired
    assert not rl.allow(3.5)
    assert rl.allow(4.0)  # the event at 1.0 expired
    assert not rl.allow(4.0)


def test_agora_login_limit_two_per_second() -> None:
    """Agora's login limit (2/s): a third login within a second is too often."""
    rl = RateLimiter(limit=2, window=1.0)
    assert [rl.allow(t) for t in (0.0, 0.5, 0.9, 1.0, 1.4, 1.6)] == [
        True,
        True,
        False,
        True,
        False,
        True,
    ]


@given(
    limit=st.integers(1, 5),
    window=st.floats(0.1, 10.0),
    gaps=st.lists(st.floats(0.0, 5.0), max_size=40),
)
def test_rate_limiter_never_lets_more_than_limit_into_any_window(
    limit: int, window: float, gaps: list[float]
) -> None:
    """For any non-decreasing times, accepted events never exceed ``limit`` per window."""
    rl = RateLimiter(limit, window)
    now, accepted = 0.0, []
    for gap in gaps:
        now += gap
        if rl.allow(now):
            accepted.append(now)
    for i, t in enumerate(accepted):
        in_window = [u for u in accepted[: i + 1] if t - u < window]
        assert len(in_window) <= limit


# -- DeliveryWindow ----------------------------------------------------------------


def test_push_numbers_from_one() -> None:
    """Pushes are numbered 1, 2, 3, ... and all stay pending."""
    w: DeliveryWindow[str] = DeliveryWindow()
    assert [w.push(x) for x in "abc"] == [1, 2, 3]
    assert w.pending() == [Unacked(1, "a"), Unacked(2, "b"), Unacked(3, "c")]
    assert len(w) == 3
    assert w.next_seq == 4


def test_ack_is_cumulative() -> None:
    """Ack(seq) releases every push up to and including seq, oldest first."""
    w: DeliveryWindow[str] = DeliveryWindow()
    for x in "abcde":
        w.push(x)
    assert w.ack(3) == ["a", "b", "c"]
    assert w.pending() == [Unacked(4, "d"), Unacked(5, "e")]
    assert w.ack(4) == ["d"]
    assert len(w) == 1


def test_ack_below_window_is_a_no_op() -> None:
    """Acks of already released (or zero/negative) sequence numbers release nothing."""
    w: DeliveryWindow[str] = DeliveryWindow()
    for x in "abc":
        w.push(x)
    assert w.ack(2) == ["a", "b"]
    assert w.ack(2) == []
    assert w.ack(1) == []
    assert w.ack(0) == []
    assert w.ack(-5) == []
    assert w.pending() == [Unacked(3, "c")]


def test_ack_beyond_last_push_releases_everything_and_numbering_goes_on() -> None:
    """An ack past the newest push releases all; later pushes keep counting up."""
    w: DeliveryWindow[str] = DeliveryWindow()
    w.push("a")
    w.push("b")
    assert w.ack(99) == ["a", "b"]
    assert len(w) == 0
    assert w.push("c") == 3
    assert w.ack(2) == []  # an old ack does not release the new push
    assert w.pending() == [Unacked(3, "c")]


def test_ack_on_empty_window() -> None:
    """Acking an empty window answers nothing."""
    w: DeliveryWindow[int] = DeliveryWindow()
    assert w.ack(1) == []
    assert w.pending() == []


def test_drain_takes_everything_pending() -> None:
    """drain answers every unacknowledged item in order and leaves the window empty."""
    w: DeliveryWindow[str] = DeliveryWindow()
    for x in "abcd":
        w.push(x)
    w.ack(1)
    assert w.drain() == ["b", "c", "d"]
    assert len(w) == 0
    assert w.pending() == []
    assert w.drain() == []
    assert w.push("e") == 5  # numbering survives a drain


def test_pending_is_a_copy() -> None:
    """Changing the list pending() answers does not change the window."""
    w: DeliveryWindow[str] = DeliveryWindow()
    w.push("a")
    w.pending().clear()
    assert len(w) == 1


@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("push"), st.integers()),
            st.tuples(st.just("ack"), st.integers(-2, 30)),
        ),
        max_size=50,
    )
)
def test_delivery_window_matches_a_model(ops: list[tuple[str, int]]) -> None:
    """Any sequence of pushes and acks matches a simple list model of the window."""
    w: DeliveryWindow[int] = DeliveryWindow()
    model: list[tuple[int, int]] = []
    next_seq = 1
    for op, arg in ops:
        if op == "push":
            assert w.push(arg) == next_seq
            model.append((next_seq, arg))
            next_seq += 1
        else:
            released = [item for seq, item in model if seq <= arg]
            model = [(seq, item) for seq, item in model if seq > arg]
            assert w.ack(arg) == released
        assert [(u.seq, u.item) for u in w.pending()] == model
        assert len(w) == len(model)


# -- RecentIds ----------------------------------------------------------------------


def test_recent_ids_remember_values() -> None:
    """A put key is contained and answers its value; an unknown key answers None."""
    ids: RecentIds[str] = RecentIds(capacity=3)
    ids.put(1, "one")
    assert 1 in ids
    assert ids.get(1) == "one"
    assert 2 not in ids
    assert ids.get(2) is None


def test_recent_ids_forget_the_oldest_past_capacity() -> None:
    """With capacity 3, the fourth distinct key evicts the first."""
    ids: RecentIds[int] = RecentIds(capacity=3)
    for k in range(4):
        ids.put(k, k * 10)
    assert 0 not in ids
    assert [k in ids for k in (1, 2, 3)] == [True, True, True]


def test_recent_ids_put_again_refreshes_and_overwrites() -> None:
    """Putting a known key again updates its value and makes it the newest."""
    ids: RecentIds[str] = RecentIds(capacity=2)
    ids.put("a", "1")
    ids.put("b", "2")
    ids.put("a", "3")  # "a" is now newest; "b" is oldest
    ids.put("c", "4")
    assert "b" not in ids
    assert ids.get("a") == "3"
    assert ids.get("c") == "4"


def test_recent_ids_get_does_not_refresh() -> None:
    """Reading a key does not protect it from eviction (only put refreshes)."""
    ids: RecentIds[int] = RecentIds(capacity=2)
    ids.put("a", 1)
    ids.put("b", 2)
    assert ids.get("a") == 1
    ids.put("c", 3)
    assert "a" not in ids


def test_recent_ids_default_capacity() -> None:
    """The default capacity is 4096."""
    ids: RecentIds[int] = RecentIds()
    for k in range(4097):
        ids.put(k, k)
    assert 0 not in ids
    assert 1 in ids
    assert 4096 in ids


@given(keys=st.lists(st.integers(0, 20), max_size=60), capacity=st.integers(1, 8))
def test_recent_ids_keep_exactly_the_last_distinct_keys(keys: list[int], capacity: int) -> None:
    """RecentIds holds exactly the ``capacity`` most recently put distinct keys."""
    ids: RecentIds[int] = RecentIds(capacity=capacity)
    for i, k in enumerate(keys):
        ids.put(k, i)
    newest_first: list[int] = []
    for k in reversed(keys):
        if k not in newest_first:
            newest_first.append(k)
    kept = set(newest_first[:capacity])
    for k in range(21):
        assert (k in ids) is (k in kept)
    for k in kept:
        assert ids.get(k) == max(i for i, key in enumerate(keys) if key == k)
