"""Supervisor restart policy and restart intensity (OTP semantics), pure."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from rtm_actors.protocol.restart import Restart, RestartIntensity


@pytest.mark.parametrize(
    ("policy", "crashed", "expected"),
    [
        (Restart.PERMANENT, True, True),
        (Restart.PERMANENT, False, True),
        (Restart.TRANSIENT, True, True),
        (Restart.TRANSIENT, False, False),
        (Restart.TEMPORARY, True, False),
        (Restart.TEMPORARY, False, False),
    ],
)
def test_should_restart_matrix(policy: Restart, crashed: bool, expected: bool) -> None:
    """Permanent always restarts, transient only after a crash, temporary never."""
    assert policy.should_restart(crashed=crashed) is expected


def test_should_restart_takes_crashed_by_keyword_only() -> None:
    """``crashed`` is keyword-only, so a call site cannot swap its meaning by position."""
    with pytest.raises(TypeError):
        Restart.PERMANENT.should_restart(True)  # type: ignore[misc]


def test_intensity_defaults_are_three_in_five_seconds() -> None:
    """By default a child may be restarted 3 times in 5 seconds."""
    ri = RestartIntensity()
    assert (ri.max_restarts, ri.period) == (3, 5.0)
    assert [ri.allow(t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]


def test_intensity_window_slides() -> None:
    """A restart older than ``period`` leaves the window and makes room for one more."""
    ri = RestartIntensity(max_restarts=2, period=10.0)
    assert ri.allow(0.0)
    assert ri.allow(4.0)
    assert not ri.allow(9.0)
    assert ri.allow(10.5)  # 0.0 is now more than 10 s old
    assert not ri.allow(13.0)
    assert ri.allow(14.5)  # 4.0 expired


def test_intensity_window_is_closed_at_period() -> None:
    """A restart exactly ``period`` seconds old still counts (it expires only after)."""
    ri = RestartIntensity(max_restarts=1, period=5.0)
    assert ri.allow(0.0)
    assert not ri.allow(5.0)
    assert ri.allow(5.000001)


def test_refused_restarts_are_not_recorded() -> None:
    """Being refused does not push the window out: the next allow depends on real restarts."""
    ri = RestartIntensity(max_restarts=1, period=1.0)
    assert ri.allow(0.0)
    for t in (0.25, 0.5, 0.75, 1.0):
        assert not ri.allow(t)
    assert ri.allow(1.01)


def test_zero_max_restarts_never_allows() -> None:
    """With max_restarts 0 the supervisor gives up on the first exit."""
    ri = RestartIntensity(max_restarts=0, period=5.0)
    assert not ri.allow(0.0)
    assert not ri.allow(100.0)


def test_instances_do_not_share_history() -> None:
    """Each RestartIntensity has its own window (no shared mutable default)."""
    a, b = RestartIntensity(max_restarts=1), RestartIntensity(max_restarts=1)
    assert a.allow(0.0)
    assert b.allow(0.0)


@given(
    max_restarts=st.integers(0, 5),
    period=st.floats(0.1, 10.0),
    gaps=st.lists(st.floats(0.0, 4.0), max_size=40),
)
def test_never_more_than_max_restarts_in_any_period(
    max_restarts: int, period: float, gaps: list[float]
) -> None:
    """For any non-decreasing times, allowed restarts never exceed the bound per period."""
    ri = RestartIntensity(max_restarts=max_restarts, period=period)
    now, allowed = 0.0, []
    for gap in gaps:
        now += gap
        if ri.allow(now):
            allowed.append(now)
    for i, t in enumerate(allowed):
        assert len([u for u in allowed[: i + 1] if t - u <= period]) <= max_restarts
