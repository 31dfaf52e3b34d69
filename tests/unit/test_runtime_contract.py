"""pykka's implementor hooks, which GeventActor depends on, still exist and are used.

pykka documents ``_create_actor_inbox``, ``_create_future`` and ``_start_actor_loop``
for implementors of new actor types, but they are internal. If a pykka release
renames or stops calling them, these tests fail before anything subtler does.
"""

from __future__ import annotations

import inspect

import pykka
import pykka._actor

from rtm_actors.runtime import GeventActor, GeventFuture, GeventInbox


def test_pykka_still_declares_the_three_hooks():
    """pykka.Actor still has the three abstract implementor hooks."""
    for hook in ("_create_actor_inbox", "_create_future", "_start_actor_loop"):
        assert hook in pykka.Actor.__abstractmethods__, hook


def test_pykka_actor_loop_still_has_the_phases_we_override():
    """The loop phases GeventActor overrides keep their names and signatures."""
    for name in (
        "_actor_loop",
        "_actor_loop_running",
        "_actor_loop_teardown",
        "_stop",
        "_handle_failure",
    ):
        assert callable(getattr(pykka.Actor, name)), name
    params = list(inspect.signature(pykka.Actor._handle_failure).parameters)
    assert params == ["self", "exception_type", "exception_value", "traceback"]


def test_pykka_ask_and_tell_still_go_through_the_inbox_and_future_hooks():
    """ActorRef.ask creates its future with _create_future and puts into actor_inbox."""
    source = inspect.getsource(pykka.ActorRef.ask)
    assert "_create_future" in source
    assert "actor_inbox.put" in source
    assert "actor_inbox.put" in inspect.getsource(pykka.ActorRef.tell)


def test_gevent_actor_uses_our_inbox_and_future():
    """A started GeventActor has a GeventInbox and answers asks with GeventFutures."""

    class Echo(GeventActor):
        def on_receive(self, message):
            return message

    ref = Echo.start()
    assert isinstance(ref.actor_inbox, GeventInbox)
    future = ref.ask("hello", block=False)
    assert isinstance(future, GeventFuture)
    assert future.get(timeout=1) == "hello"
    ref.stop()


def test_pykka_major_version_is_the_pinned_one():
    """setup.cfg pins pykka below 5 because of these hooks."""
    from importlib.metadata import version

    assert version("pykka").split(".")[0] == "4"
    assert pykka._actor.Actor is pykka.Actor
