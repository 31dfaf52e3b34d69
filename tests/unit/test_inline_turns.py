"""Inline turns: an idle actor's message handled in the teller's greenlet, with the
actor rules intact (one message at a time, in order, a failure stops only it)."""

from __future__ import annotations

import threading

import gevent
import gevent.event
import pykka
import pytest

from rtm_actors.runtime import GeventActor, ask_or_run_inline, tell_or_run_inline
from rtm_actors.runtime.actor import MAX_INLINE_DEPTH, ChildExited
from rtm_actors.testing import settle, wait_until


class Note:
    """A message these actors take inline."""

    def __init__(self, text: str, then: object = None) -> None:
        self.text = text
        self.then = then


class Queued:
    """A message they do not: it always waits in the inbox."""

    def __init__(self, text: str) -> None:
        self.text = text


class Journal(GeventActor):
    """Records, per message, what it was and which greenlet handled it."""

    inline_messages = frozenset({Note})

    def __init__(self, log: list, pause: gevent.event.Event | None = None) -> None:
        super().__init__()
        self.log = log
        self.pause = pause

    def on_receive(self, message):
        if isinstance(message, Note | Queued):
            self.log.append(("begin", message.text, gevent.getcurrent()))
            if message.text == "boom":
                raise RuntimeError("boom")
            if message.text == "wait" and self.pause is not None:
                self.pause.wait()  # a turn that yields (as one doing I/O would)
            if isinstance(message, Note) and message.then is not None:
                target, note = message.then
                tell_or_run_inline(target, note)
            self.log.append(("end", message.text, gevent.getcurrent()))
            return None
        return message  # an ask: echo


def texts(log: list, what: str = "begin") -> list[str]:
    return [text for kind, text, _ in log if kind == what]


def test_an_idle_actor_handles_the_message_in_the_tellers_greenlet():
    """tell_or_run_inline returns after the handler ran, in the caller's greenlet."""
    log: list = []
    ref = Journal.start(log)
    assert tell_or_run_inline(ref, Note("a"))
    assert log == [("begin", "a", gevent.getcurrent()), ("end", "a", gevent.getcurrent())]
    ref.stop()


def test_the_actor_gets_no_greenlet_until_a_message_must_wait():
    """An actor with inline messages spawns its loop only when something is queued."""
    log: list = []
    ref = Journal.start(log)
    actor = ref._actor_weakref()
    tell_or_run_inline(ref, Note("a"))
    assert not hasattr(actor, "greenlet")
    assert ref.ask("ping", timeout=2) == "ping"  # asks go through the inbox
    assert hasattr(actor, "greenlet")
    ref.stop()


def test_a_message_told_while_others_wait_is_queued_behind_them():
    """Order is kept: an inline-able message never overtakes queued ones."""
    log: list = []
    ref = Journal.start(log)
    tell_or_run_inline(ref, Queued("first"))
    tell_or_run_inline(ref, Note("second"))  # the inbox is not empty: it must wait
    assert texts(log) == []
    assert ref.ask("sync", timeout=2) == "sync"
    assert texts(log) == ["first", "second"]
    me = gevent.getcurrent()
    assert all(greenlet is not me for _, _, greenlet in log)
    ref.stop()


def test_a_turn_that_yields_keeps_the_actor_busy():
    """While an inline turn waits on I/O, messages queue; the loop handles them after
    it, never beside it."""
    log: list = []
    pause = gevent.event.Event()
    ref = Journal.start(log, pause)
    inline = gevent.spawn(tell_or_run_inline, ref, Note("wait"))
    wait_until(lambda: texts(log) != [], timeout=2, what="the inline turn")
    assert texts(log) == ["wait"]
    tell_or_run_inline(ref, Note("behind"))  # busy: queued, and its loop must wait for the turn
    settle()  # (whatever runs without new input has run: the loop, if it would)
    assert texts(log) == ["wait"]
    pause.set()
    inline.join(timeout=2)
    assert ref.ask("sync", timeout=2) == "sync"
    assert [(kind, text) for kind, text, _ in log] == [
        ("begin", "wait"),
        ("end", "wait"),
        ("begin", "behind"),
        ("end", "behind"),
    ]
    ref.stop()


def test_a_failing_inline_turn_stops_that_actor_and_tells_its_supervisor():
    """The exception ends the callee (as in its own loop), not the teller."""
    exits: list[ChildExited] = []

    class Watcher(GeventActor):
        def on_receive(self, message):
            exits.append(message)

    watcher = Watcher.start()
    ref = Journal.start_under(watcher, [])
    assert tell_or_run_inline(ref, Note("boom"))  # does not raise here
    assert ref.actor_stopped.is_set()
    assert not tell_or_run_inline(ref, Note("after"))
    wait_until(lambda: bool(exits), timeout=2, what="the supervisor told")
    settle()  # (a second exit, if any, has come too)
    assert len(exits) == 1
    assert isinstance(exits[0].error, RuntimeError)
    watcher.stop()


def test_nested_inline_turns_are_bounded():
    """A chain of actors telling each other runs inline up to MAX_INLINE_DEPTH deep;
    the rest goes through inboxes, and every message still arrives once."""
    log: list = []
    refs = [Journal.start(log) for _ in range(MAX_INLINE_DEPTH + 3)]
    last = len(refs) - 1
    note = Note(f"hop{last}")  # refs[i] gets hop i, then tells refs[i + 1] hop i + 1
    for i in reversed(range(last)):
        note = Note(f"hop{i}", then=(refs[i + 1], note))
    tell_or_run_inline(refs[0], note)
    handled_here = [t for kind, t, g in log if kind == "begin" and g is gevent.getcurrent()]
    assert len(handled_here) == MAX_INLINE_DEPTH
    for ref in refs:
        ref.ask("sync", timeout=2)
    assert sorted(texts(log)) == sorted(f"hop{i}" for i in range(len(refs)))
    for ref in refs:
        ref.stop()


def handled_by(log: list, text: str) -> object:
    """Wait until the actor handled ``text`` (alone); answer the greenlet that did."""
    wait_until(lambda: bool(texts(log)), timeout=1, what=f"{text} handled")
    assert texts(log) == [text]
    return log[0][2]


def test_a_tell_from_another_os_thread_is_never_inline():
    """A foreign thread's message is handed to the hub and handled in the actor's loop."""
    log: list = []
    ref = Journal.start(log)
    thread = threading.Thread(target=tell_or_run_inline, args=(ref, Note("from a thread")))
    thread.start()
    thread.join()
    assert handled_by(log, "from a thread") is not gevent.getcurrent()
    ref.stop()


def test_a_tell_from_a_hub_callback_is_never_inline():
    """The hub must never block: a callback's message waits for the actor's loop."""
    log: list = []
    ref = Journal.start(log)
    hub = gevent.get_hub()
    hub.loop.run_callback(tell_or_run_inline, ref, Note("from the hub"))
    assert handled_by(log, "from the hub") not in (hub, gevent.getcurrent())
    ref.stop()


class Entry(Queued):
    """A family of messages taken inline through their base class."""


class Ledger(Journal):
    inline_messages = frozenset()
    inline_bases = (Entry,)


def test_subclasses_of_an_inline_base_are_taken_inline_and_others_are_not():
    """``inline_bases`` makes a whole family inline; its base's siblings still queue."""
    log: list = []
    ref = Ledger.start(log)
    try:
        assert tell_or_run_inline(ref, Entry("entry"))
        assert [(what, text) for what, text, _ in log] == [("begin", "entry"), ("end", "entry")]
        assert log[0][2] is gevent.getcurrent()
        assert tell_or_run_inline(ref, Queued("queued"))
        assert len(log) == 2  # waits for the actor's own greenlet
    finally:
        ref.stop()


class Question:
    """A question the Oracle takes inline."""

    def __init__(self, text: str) -> None:
        self.text = text


class Oracle(GeventActor):
    """Answers questions with the text and the greenlet that answered."""

    inline_messages = frozenset({Question})

    def on_receive(self, message):
        if isinstance(message, Question) and message.text == "boom":
            raise ValueError("boom")
        return (getattr(message, "text", message), gevent.getcurrent())


def test_an_idle_actor_answers_an_inline_ask_in_the_askers_greenlet():
    """ask_or_run_inline returns the answer of a turn run here: no loop greenlet is made."""
    ref = Oracle.start()
    assert ask_or_run_inline(ref, Question("hi")) == ("hi", gevent.getcurrent())
    assert not hasattr(ref._actor_weakref(), "greenlet")
    ref.stop()


def test_a_failing_inline_ask_raises_to_the_asker_and_the_actor_goes_on():
    """As with pykka's ask, the exception is the asker's; the actor is not stopped."""
    ref = Oracle.start()
    with pytest.raises(ValueError, match="boom"):
        ask_or_run_inline(ref, Question("boom"))
    assert ref.is_alive()
    assert ask_or_run_inline(ref, Question("again"))[0] == "again"
    ref.stop()


def test_an_ask_behind_queued_mail_waits_its_turn_in_the_actors_greenlet():
    """With mail waiting, the ask goes through the inbox: answered after it, in order."""
    ref = Oracle.start()
    ref.tell(Question("first"))
    text, greenlet = ask_or_run_inline(ref, Question("second"), timeout=2)
    assert text == "second"
    assert greenlet is not gevent.getcurrent()
    ref.stop()


def test_asking_a_stopped_actor_raises_actor_dead():
    """A stopped actor answers nothing: pykka's ActorDeadError, inline or not."""
    ref = Oracle.start()
    ref.stop()
    with pytest.raises(pykka.ActorDeadError):
        ask_or_run_inline(ref, Question("anyone?"))


def test_a_message_told_back_during_an_inline_turn_runs_when_that_turn_ends():
    """A's inline turn runs B's, which tells A: A handles it right after its turn, in
    the same greenlet, starting no loop greenlet of its own."""
    log: list = []
    a, b = Journal.start(log), Journal.start(log)
    tell_or_run_inline(a, Note("a1", then=(b, Note("b1", then=(a, Note("back"))))))
    me = gevent.getcurrent()
    assert [(kind, text) for kind, text, _ in log] == [
        ("begin", "a1"),
        ("begin", "b1"),
        ("end", "b1"),
        ("end", "a1"),
        ("begin", "back"),  # after a1's turn, not inside it
        ("end", "back"),
    ]
    assert all(greenlet is me for _, _, greenlet in log)
    assert not hasattr(a._actor_weakref(), "greenlet")  # no loop was started
    a.stop()
    b.stop()


def test_a_message_told_back_behind_queued_mail_waits_behind_it():
    """Told back while mail waits in A's inbox, a message goes behind that mail."""
    log: list = []
    a, b = Journal.start(log), Journal.start(log)

    class Both(Journal):
        def on_receive(self, message):
            if isinstance(message, Note) and message.text == "a1":
                tell_or_run_inline(a, Queued("queued"))  # A is busy: this waits
            return super().on_receive(message)

    c = Both.start(log)
    a_note = Note("a1", then=(b, Note("b1", then=(a, Note("back")))))
    tell_or_run_inline(a, Note("start", then=(c, a_note)))
    a.ask("sync", timeout=2)
    assert texts(log) == ["start", "a1", "b1", "queued", "back"]
    for ref in (a, b, c):
        ref.stop()
