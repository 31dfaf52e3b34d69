"""Admission's counts and caps, without sockets: who is evicted, who is refused."""

from __future__ import annotations

import gevent

from rtm_actors.server.admission import (
    LOGIN_TIMEOUT,
    REQUEST_TIMEOUT,
    Admission,
    Cutoff,
    SocketPhase,
)


def admit(admission: Admission, phase: SocketPhase = SocketPhase.HTTP):
    return admission.admit(None, phase, 60.0, REQUEST_TIMEOUT)


def test_counts_follow_each_connection_through_its_phases():
    """A connection is counted in one state at a time, and not at all once closed."""
    admission = Admission(max_connections=10, max_waiting=5)
    conn = admit(admission)
    assert admission.counts == [1, 0, 0]
    conn.await_login(60.0)
    assert admission.counts == [0, 1, 0]
    assert conn.logged_in()
    assert admission.counts == [0, 0, 1]
    conn.close()
    conn.close()
    assert admission.counts == [0, 0, 0]


def test_past_the_waiting_cap_the_oldest_waiting_connection_is_evicted():
    """The newcomer gets in; the oldest unauthenticated connection is counted out and
    may no longer log in."""
    admission = Admission(max_connections=10, max_waiting=2)
    oldest, second = admit(admission), admit(admission)
    newest = admit(admission)
    assert newest is not None
    assert admission.counts[SocketPhase.HTTP] == 2
    assert not oldest.logged_in()
    assert second.logged_in()
    assert admission.evicted.total == 1


def test_when_every_socket_is_logged_in_a_newcomer_is_refused():
    """At max_connections with nobody waiting, there is nobody to evict: refused."""
    admission = Admission(max_connections=2, max_waiting=2)
    for _ in range(2):
        assert admit(admission).logged_in()
    assert admit(admission) is None
    assert admission.refused.total == 1
    assert admission.counts == [0, 0, 2]


def test_the_deadline_is_thrown_into_the_waiting_greenlet_but_never_after_login():
    """A deadline ends a waiting greenlet with a Cutoff; a logged-in one is left alone."""
    admission = Admission(max_connections=10, max_waiting=10)
    caught: list[str] = []

    def wait(seconds: float) -> None:
        try:
            gevent.sleep(seconds)  # (real time: the 0.05 s loop-timer deadline is under test)
        except Cutoff as cutoff:
            caught.append(cutoff.reason)

    # Far longer than the deadline: a busy machine that stalls the loop past the
    # sleep's own end must not let the sleep win.
    waiting = gevent.spawn(wait, 30.0)
    admission.admit(waiting, SocketPhase.LOGIN, 0.05, LOGIN_TIMEOUT)
    logged_in = gevent.spawn(wait, 0.3)
    admission.admit(logged_in, SocketPhase.LOGIN, 0.05, LOGIN_TIMEOUT).logged_in()
    gevent.joinall([waiting, logged_in], timeout=10)
    assert caught == ["no login"]
