"""``PushOrder``: the client never handles, and so never acknowledges, past a push it
did not have; links that keep losing the same push are counted, and resume ever more
slowly (with the connection machine, wired as the SDK wires them)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from rtm_actors.protocol.connection import (
    ConnectionMachine,
    StartTimer,
    StateChanged,
    Timer,
    backoff_delay,
)
from rtm_actors.protocol.push_order import PushCheck, PushOrder


def test_in_order_pushes_are_next_and_repeats_are_repeats():
    order = PushOrder()
    assert [order.check(seq) for seq in (1, 2, 3)] == [PushCheck.NEXT] * 3
    # A resumed link: the server sends again from its oldest unacknowledged push.
    assert [order.check(seq) for seq in (2, 3, 4)] == [
        PushCheck.REPEAT,
        PushCheck.REPEAT,
        PushCheck.NEXT,
    ]
    assert order.last == 4


def test_a_skip_is_a_gap_and_changes_nothing():
    order = PushOrder()
    order.check(1)
    assert order.check(3) is PushCheck.GAP
    assert order.last == 1
    assert order.check(2) is PushCheck.NEXT  # sent again on the next link


def test_links_that_keep_losing_the_same_push_are_counted_until_it_comes():
    order = PushOrder()
    order.check(1)
    assert [order.check(3) for _ in range(3)] == [PushCheck.GAP] * 3
    assert order.same_gap == 3
    assert order.check(4) is PushCheck.GAP  # the same push missing: the same gap
    assert order.same_gap == 4
    assert order.check(2) is PushCheck.NEXT
    assert order.same_gap == 0
    assert order.check(4) is PushCheck.GAP  # a new gap counts from one
    assert order.same_gap == 1


def test_reset_starts_again_from_one():
    order = PushOrder()
    order.check(1)
    order.check(2)
    order.reset()
    assert order.check(1) is PushCheck.NEXT


@given(
    pushes=st.integers(min_value=1, max_value=40),
    drops=st.lists(st.booleans(), max_size=400),
)
def test_over_a_dropping_network_every_push_is_handled_once_in_order(pushes, drops):
    """A server session and a client over links that drop frames as ``drops`` says
    (then none): on each new link the server sends what it holds, oldest first; the
    client acknowledges what it had. The client handles 1..pushes exactly once and in
    order, and the server releases only pushes the client handled."""
    held = list(range(1, pushes + 1))  # the server's window, oldest first
    order = PushOrder()
    handled: list[int] = []
    falls = iter(drops)
    while held:
        acked = 0
        for seq in held:
            if next(falls, False):
                continue  # dropped on the way
            check = order.check(seq)
            if check is PushCheck.GAP:
                break  # the client drops the link
            if check is PushCheck.NEXT:
                handled.append(seq)
            acked = seq
        assert set(range(1, acked + 1)) <= set(handled)
        held = [seq for seq in held if seq > acked]
    assert handled == list(range(1, pushes + 1))


@given(
    runs=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=4),
    jitter=st.floats(0.0, 1.0, exclude_max=True),
)
def test_links_losing_the_same_push_resume_ever_more_slowly_until_it_comes(runs, jitter):
    """Runs of links that each lose one push (``runs[i]`` links, then it comes), as the
    SDK handles them: each gap drops the link with ``link_stuck(same_gap)``. The wait
    before each resume doubles from the normal reconnect delay up to backoff_max, and a
    later push's first loss waits the normal delay again. Nothing past a missing push
    is ever taken, and the application is told of no state change."""
    machine = ConnectionMachine(jitter=lambda: jitter)
    machine.login()
    machine.link_opened(0.0)
    machine.login_accepted("s", resumed=False, now=0.0)
    order = PushOrder()
    for run in runs:
        missing = order.last + 1
        for link in range(run):
            assert order.check(missing + 1) is PushCheck.GAP  # the middlebox lost ``missing``
            assert order.last == missing - 1
            machine.link_stuck(order.same_gap)
            retry = machine.link_lost()[-1]
            delay = backoff_delay(link, machine.timings, jitter)
            assert retry == StartTimer(Timer.RECONNECT, delay)
            assert delay <= machine.timings.backoff_max
            machine.timer_fired(Timer.RECONNECT, 0.0)
            machine.link_opened(0.0)
            effects = machine.login_accepted("s", resumed=True, now=0.0)
            assert not any(isinstance(e, StateChanged) for e in effects)
        assert [order.check(missing), order.check(missing + 1)] == [PushCheck.NEXT] * 2
        assert order.same_gap == 0
