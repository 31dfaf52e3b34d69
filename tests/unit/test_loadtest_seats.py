"""Seats: which plan user each user started on the fly plays, in each worker."""

from __future__ import annotations

from rtm_actors.loadtest.scenario import build_plan
from rtm_actors.loadtest.seats import Seats


def test_workers_share_the_plan_without_overlap():
    """Worker w of K plays plan users w, w+K, ...: together every user, once."""
    plan = build_plan("peer", 10)
    workers = [Seats(plan, w, 3) for w in range(3)]
    taken = [[seats.take().index for _ in range(3)] for seats in workers]
    assert taken == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def test_a_stopped_users_seat_goes_to_the_next_one():
    """The lowest free seat is handed out first, a given-back one included."""
    seats = Seats(build_plan("peer", 4), 0, 1)
    first, second = seats.take(), seats.take()
    seats.give_back(first)
    assert (seats.take().index, second.index) == (0, 1)


def test_users_beyond_the_plan_get_distinct_unpaired_ids():
    """Past the plan's end a user still gets an id of its own, with nobody to talk to."""
    seats = Seats(build_plan("peer", 2), 1, 2)
    assert seats.take().user_id == "lt1"
    extra = [seats.take() for _ in range(2)]
    assert [u.user_id for u in extra] == ["ltx1-1", "ltx1-2"]
    assert all(not u.partners and u.index == -1 for u in extra)
