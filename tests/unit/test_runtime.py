"""The gevent runtime: every pykka pitfall of RUNTIME-NOTES.md is handled."""

from __future__ import annotations

import threading
import time

import gevent
import gevent.event
import pykka
import pytest

from rtm_actors.runtime import (
    Adopt,
    ChildSpec,
    GeventActor,
    NamedTimers,
    Supervisor,
    registry,
    tell_all,
)
from rtm_actors.runtime.cooperative import Yielder
from rtm_actors.runtime.messages import Census, Headcount
from rtm_actors.testing import FakeClock, wait_until


class Echo(GeventActor):
    def on_receive(self, message):
        if isinstance(message, BaseException):
            raise message
        return message


class Recorder(GeventActor):
    def __init__(self, log=None):
        super().__init__()
        self.log = log if log is not None else []

    def on_receive(self, message):
        self.log.append(message)
        return len(self.log)

    def on_stop(self):
        self.log.append("stopped")


def test_ask_and_tell_work_on_greenlets():
    """ask returns the answer; tells are processed in order."""
    log = []
    ref = Recorder.start(log)
    for i in range(5):
        ref.tell(i)
    assert ref.ask("last") == 6
    assert log == [0, 1, 2, 3, 4, "last"]


def test_ask_timeout_raises_pykka_timeout():
    """Waiting on a future past its timeout raises pykka.Timeout and does not hang."""

    release = gevent.event.Event()

    class Slow(GeventActor):
        def on_receive(self, message):
            release.wait()

    ref = Slow.start()
    with pytest.raises(pykka.Timeout):
        ref.ask("x", timeout=0.05)
    release.set()


def test_gevent_timeout_in_a_handler_stops_only_that_actor():
    """Pitfall 1: a BaseException (gevent.Timeout) stops that actor, not every actor."""
    victim = Echo.start()
    bystander = Echo.start()
    victim.tell(gevent.Timeout())
    wait_until(lambda: not victim.is_alive(), timeout=2, what="the victim's stop")
    assert not victim.is_alive()
    assert bystander.is_alive()
    assert bystander.ask("still here", timeout=1) == "still here"


def test_exception_in_ask_goes_to_the_caller_and_actor_lives():
    """An Exception while answering an ask is raised to the asker; the actor goes on."""
    ref = Echo.start()
    with pytest.raises(ValueError, match="bad"):
        ref.ask(ValueError("bad"), timeout=1)
    assert ref.ask("ok", timeout=1) == "ok"


def test_killed_greenlet_leaves_no_zombie():
    """Pitfall 2: an actor whose greenlet is killed is unregistered and its asks fail fast."""

    class Exposed(GeventActor):
        def on_receive(self, message):
            return gevent.getcurrent()

    ref = Exposed.start()
    assert registry.get(ref.actor_urn) is ref
    greenlet = ref.ask("which greenlet are you?")
    pending = ref.ask("queued", block=False)
    greenlet.kill()  # what a careless caller would do
    assert not ref.is_alive()
    assert registry.get(ref.actor_urn) is None
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("after", timeout=1)
    if not pending.done():
        pytest.fail("an ask queued before the kill must be settled, not left hanging")


def test_registry_is_a_dict_and_shutdown_is_fast_and_ordered():
    """Pitfall 3: lookup by URN is constant time; shutdown stops tiers in order, quickly."""
    order = []

    class Front(GeventActor):
        shutdown_tier = 0

        def on_receive(self, message):
            return None

        def on_stop(self):
            order.append("front")

    class Back(GeventActor):
        shutdown_tier = 50

        def on_receive(self, message):
            return None

        def on_stop(self):
            order.append("back")

    backs = [Back.start() for _ in range(100)]
    fronts = [Front.start() for _ in range(5000)]
    assert registry.get(fronts[-1].actor_urn) is fronts[-1]
    started = time.perf_counter()
    assert registry.shutdown(timeout=10) == 0
    elapsed = time.perf_counter() - started
    assert order.index("back") == 5000  # every front stopped before the first back
    assert len(registry) == 0
    assert elapsed < 5, f"shutdown of 5,100 actors took {elapsed:.1f} s"
    assert not any(r.is_alive() for r in backs)


def test_explicit_shutdown_runs_on_stop():
    """Pitfall 4: registry.shutdown runs every actor's on_stop (pykka drops them at exit)."""
    log = []
    Recorder.start(log)
    registry.shutdown(timeout=2)
    assert log == ["stopped"]


def test_tell_from_another_os_thread_is_delivered_promptly():
    """Pitfall 5: a tell from a real OS thread reaches the actor without another wake-up."""
    log = []
    ref = Recorder.start(log)
    thread = threading.Thread(target=lambda: ref.tell("from a thread"))
    thread.start()
    thread.join()
    started = time.perf_counter()
    wait_until(lambda: bool(log), timeout=2, what="the thread's message")
    assert log == ["from a thread"]
    assert time.perf_counter() - started < 0.5


def test_sdk_does_not_need_monkey_patching():
    """Pitfall 6: this suite runs unpatched; the socket module is the stdlib one."""
    import socket

    import gevent.monkey

    assert not gevent.monkey.is_module_patched("socket")
    assert socket.socket is not gevent.socket.socket


def test_producers_that_yield_keep_timers_running():
    """Pitfall 7: tell_all yields every 100 tells, so other greenlets run during a fan-out."""
    ref = Recorder.start([])
    ran = []
    gevent.spawn(ran.append, "other greenlet")
    assert tell_all([ref] * 300, "x") == 300
    assert ran == ["other greenlet"]  # it ran inside tell_all, before we got here
    yielder = Yielder(every=2)
    more = []
    gevent.spawn(more.append, "ran")
    yielder.tick()
    assert more == []
    yielder.tick()
    assert more == ["ran"]


def test_named_timers_tell_after_a_delay_and_cancel():
    """A named timer tells its message once; a restarted or cancelled one does not fire."""
    log = []
    ref = Recorder.start(log)
    with FakeClock() as clock:
        timers = NamedTimers(ref)
        timers.start("a", 0.01, "a fired")
        timers.start("b", 0.01, "b first")
        timers.start("b", 0.02, "b second")
        timers.start("c", 0.01, "c fired")
        timers.cancel("c")
        clock.advance(0.1)  # (fires them, and lets the actor take their messages)
    assert sorted(log) == ["a fired", "b second"]


class Beat:
    """A timer message the ``Ticker`` takes inline."""


class Ticker(GeventActor):
    inline_messages = frozenset({Beat})

    def __init__(self, log):
        super().__init__()
        self.log = log

    def on_receive(self, message):
        self.log.append(gevent.getcurrent())


def test_a_timer_message_taken_inline_wakes_no_greenlet_of_the_actors_own():
    """Timers are told from the process's relay greenlet: an idle actor that takes the
    message inline handles it there and never starts its own loop greenlet."""
    from rtm_actors.runtime.hub_relay import hub_relay

    log = []
    ref = Ticker.start(log)
    ticker_timers = NamedTimers(ref)
    for delay in (0.01, 0.02):
        ticker_timers.start(delay, delay, Beat())
    wait_until(lambda: len(log) >= 2, timeout=2, what="two beats")  # (on the loop's timers)
    assert len(log) == 2
    assert set(log) == {hub_relay.greenlet}
    assert not hasattr(ref._actor_weakref(), "greenlet")  # its loop never started
    ref.stop()


def test_supervisor_runs_on_exit_after_a_crash_or_a_stop_and_forgets_the_child():
    """A crashed child's on_exit gets its error, a stopped one's gets None; the
    supervisor counts neither afterwards and brings neither back."""
    sup = Supervisor.start(name="test")
    exits = []
    crasher, stopper = Echo.start_under(sup), Echo.start_under(sup)
    sup.tell(Adopt(crasher, ChildSpec("crasher", on_exit=exits.append)))
    sup.tell(Adopt(stopper, ChildSpec("stopper", on_exit=exits.append)))
    assert sup.ask(Census()) == Headcount(children=2, early_exits=0)
    crasher.tell(RuntimeError("crash"))
    stopper.stop()
    wait_until(lambda: sup.ask(Census()).children == 0, timeout=2)
    assert sorted(type(e).__name__ for e in exits) == ["NoneType", "RuntimeError"]
    assert not crasher.is_alive()
    assert sup.ask(Census()) == Headcount(children=0, early_exits=0)
    assert sup.is_alive()


def test_monitor_thread_reports_a_blocking_handler(tmp_path):
    """Pitfall 8: gevent's monitor thread names a greenlet that blocks the hub."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import time, gevent
        from rtm_actors.runtime import GeventActor
        class Hog(GeventActor):
            def on_receive(self, m):
                time.sleep(0.6)  # blocks the whole hub: what is under test
        ref = Hog.start()
        ref.ask("go")
        gevent.sleep(0.2)  # (real time for the monitor thread, which checks every 0.1 s)
        """
    )
    env = {
        "GEVENT_MONITOR_THREAD_ENABLE": "true",
        "GEVENT_MAX_BLOCKING_TIME": "0.1",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert "appears to be blocked" in result.stderr, result.stderr[-2000:]


def test_a_timer_started_after_the_loop_was_held_counts_from_the_present():
    """The loop reads the clock once per iteration; code that held it (blocking start-up
    work) left its time behind. A timer started then must still wait its delay, and
    ``now()`` must be the present. (Real time: the loop's clock is what is tested.)"""
    import time

    from rtm_actors.runtime.timers import call_later, fresh_now, now

    gevent.sleep(0.01)  # a loop iteration that reads the clock
    time.sleep(0.3)  # hold the loop, as blocking code would
    stale = now()  # (cheap: as read at the start of this loop iteration)
    assert fresh_now() - stale >= 0.29
    started = time.monotonic()
    fired: list[float] = []
    call_later(0.3, lambda: fired.append(time.monotonic() - started))
    gevent.sleep(0.1)
    assert fired == []  # not at once, as it did from the stale clock
    wait_until(lambda: bool(fired), timeout=2, what="the timer")
    assert fired[0] >= 0.29
