"""The deadline wheel the invitation desk keeps its timers on: pure, time passed in."""

from __future__ import annotations

from hypothesis import given, strategies as st

from rtm_actors.protocol.deadlines import DeadlineWheel


def test_an_item_is_due_once_its_slot_time_has_come_and_not_before():
    """A deadline of 0.12 s on 0.05 s slots is due at 0.15 s: not at 0.12 s, not twice."""
    wheel: DeadlineWheel[str] = DeadlineWheel(0.05)
    wheel.add("a", 0.12)
    assert wheel.pop_due(0.12) == []
    assert abs(wheel.next_due() - 0.15) < 1e-9
    assert wheel.pop_due(0.15) == ["a"]
    assert wheel.pop_due(10.0) == []
    assert len(wheel) == 0


def test_a_removed_item_never_comes_due_and_leaves_nothing_to_wake_for():
    """Removing the only item of the earliest slot moves ``next_due`` to the next one."""
    wheel: DeadlineWheel[str] = DeadlineWheel(0.05)
    first = wheel.add("first", 1.0)
    wheel.add("second", 2.0)
    wheel.remove("first", first)
    wheel.remove("first", first)  # twice: nothing
    assert abs(wheel.next_due() - 2.0) < 1e-9
    assert wheel.pop_due(5.0) == ["second"]
    assert wheel.next_due() is None


def test_items_come_out_earliest_slot_first():
    """Added out of order, items are popped in the order of their deadlines' slots."""
    wheel: DeadlineWheel[int] = DeadlineWheel(0.1)
    for n, deadline in [(3, 0.35), (1, 0.05), (2, 0.2)]:
        wheel.add(n, deadline)
    assert wheel.pop_due(1.0) == [1, 2, 3]


def test_a_slot_emptied_and_filled_again_is_kept_once():
    """Items that come and go in one slot (an invitation a millisecond long) do not pile
    up: the wheel holds one dict per slot and one heap entry per slot."""
    wheel: DeadlineWheel[int] = DeadlineWheel(0.05)
    for n in range(1000):
        slot = wheel.add(n, 60.0)
        wheel.remove(n, slot)
    assert len(wheel._order) == 1
    assert len(wheel) == 0


@given(
    st.lists(st.tuples(st.floats(0, 100), st.booleans()), max_size=50),
    st.floats(0, 120),
)
def test_never_early_at_most_one_slot_late(entries, now):
    """Whatever was added and removed, ``pop_due(now)`` takes exactly the kept items
    whose deadline is past, plus at most those within one slot after ``now``."""
    resolution = 0.05
    wheel: DeadlineWheel[int] = DeadlineWheel(resolution)
    kept = {}
    for n, (deadline, keep) in enumerate(entries):
        slot = wheel.add(n, deadline)
        if keep:
            kept[n] = deadline
        else:
            wheel.remove(n, slot)
    due = wheel.pop_due(now)
    assert len(set(due)) == len(due)
    assert set(due) <= set(kept)
    for n in due:
        assert kept[n] <= now + 1e-6  # never early
    for n, deadline in kept.items():
        if deadline <= now - resolution:
            assert n in due  # at most one slot late
