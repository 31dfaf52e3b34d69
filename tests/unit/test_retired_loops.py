"""Retired loops: an actor's loop greenlet that stays idle ends, and the next message
starts a new one; nothing is lost, reordered or answered twice on the way."""

from __future__ import annotations

import gevent
import gevent.event
import pykka
import pytest

from rtm_actors.runtime import GeventActor, actor as actor_module
from rtm_actors.testing import wait_until


class Which(GeventActor):
    """Answers the greenlet that ran the turn; a ``gevent.event.Event`` blocks it."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[object] = []

    def on_receive(self, message):
        if isinstance(message, gevent.event.Event):
            message.wait()
        self.log.append(message)
        return gevent.getcurrent()


@pytest.fixture
def quick_retirer(monkeypatch):
    """Sweeps every 10 ms instead of every second."""
    retirer = actor_module.LoopRetirer(0.01)
    monkeypatch.setattr(actor_module, "_retirer", retirer)
    return retirer


def test_an_idle_loop_ends_and_the_next_message_starts_another(quick_retirer):
    ref = Which.start()
    first = ref.ask("a", timeout=2)
    wait_until(lambda: first.dead, 2, "the idle loop to end")
    assert ref.is_alive()
    second = ref.ask("b", timeout=2)
    assert second is not first
    assert ref._actor_weakref().log == ["a", "b"]
    ref.stop()


def test_a_loop_in_a_long_turn_is_not_retired(quick_retirer):
    ref = Which.start()
    release = gevent.event.Event()
    busy = ref.ask(release, block=False)
    greenlet = ref._actor_weakref().greenlet
    for _ in range(5):  # several sweeps pass while the turn blocks
        gevent.sleep(0.01)  # (real time: the retirer sweeps on the event loop's own timer)
    assert not greenlet.dead
    release.set()
    assert busy.get(timeout=2) is greenlet
    ref.stop()


def test_mail_behind_the_retire_notice_is_handled_by_the_same_loop(quick_retirer):
    ref = Which.start()
    actor = ref._actor_weakref()
    first = ref.ask("a", timeout=2)
    # The notice and a message in one loop round: the loop sees mail behind the
    # notice and goes on instead of ending.
    actor.actor_inbox.put(actor_module._RETIRE)
    answer = ref.ask("b", block=False)
    assert answer.get(timeout=2) is first
    ref.stop()


def test_a_retired_actor_still_stops_and_refuses_later_asks(quick_retirer):
    ref = Which.start()
    first = ref.ask("a", timeout=2)
    wait_until(lambda: first.dead, 2, "the idle loop to end")
    ref.stop(timeout=2)
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("after", timeout=1)


def test_the_sweep_timer_stops_when_no_loop_lives(quick_retirer):
    ref = Which.start()
    first = ref.ask("a", timeout=2)
    wait_until(lambda: first.dead, 2, "the idle loop to end")
    wait_until(lambda: quick_retirer._timer is None, 2, "the sweep timer to stop")
    ref.ask("b", timeout=2)
    assert quick_retirer._timer is not None  # a loop lives again: sweeps again
    ref.stop()
