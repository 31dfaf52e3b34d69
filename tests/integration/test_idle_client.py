"""An idle logged-in client holds no greenlet: its link reads on the hub and its
actors' loops retire; a message then still arrives, and is acknowledged, at once."""

from __future__ import annotations

import pytest

from rtm_actors import PeerMessageErrCode
from rtm_actors.runtime import actor as actor_module
from rtm_actors.testing import wait_until

pytestmark = pytest.mark.integration


def _live_loops(rtm) -> list[str]:
    """The client's actors whose loop greenlet is alive."""
    refs = (rtm._supervisor, rtm._actor, rtm._dispatcher)
    return [
        type(ref._actor_weakref()).__name__
        for ref in refs
        if getattr(ref._actor_weakref(), "greenlet", None) is not None
        and not ref._actor_weakref().greenlet.dead
    ]


def test_an_idle_client_holds_no_greenlet_and_still_receives(monkeypatch, logged_in):
    monkeypatch.setattr(actor_module, "_retirer", actor_module.LoopRetirer(0.02))
    alice, _ = logged_in("alice")
    bob, bob_rec = logged_in("bob")
    link = bob._supervisor._actor_weakref()._link
    assert link._reader is None  # no reader greenlet: the hub reads
    wait_until(lambda: not _live_loops(bob), timeout=5, what="bob's loops to retire")
    sent = alice.send_message_to_peer("bob", alice.create_message("wake up"))
    assert sent.get(timeout=5) is PeerMessageErrCode.OK  # bob's SDK acknowledged it
    bob_rec.wait_for("on_message_received_from_peer")
    ((peer, message),) = bob_rec.calls("on_message_received_from_peer")
    assert (peer, message.text) == ("alice", "wake up")


def test_a_read_is_handled_on_the_relay_without_waking_the_service_actor(monkeypatch, logged_in):
    """The link calls back on the hub; the process's relay runs the service actor's
    turn inline, so a message read and acknowledged starts no loop of the service's."""
    from rtm_actors.runtime.hub_relay import hub_relay

    monkeypatch.setattr(actor_module, "_retirer", actor_module.LoopRetirer(0.02))
    alice, _ = logged_in("alice")
    bob, bob_rec = logged_in("bob")
    wait_until(lambda: not _live_loops(bob), timeout=5, what="bob's loops to retire")
    sent = alice.send_message_to_peer("bob", alice.create_message("inline"))
    assert sent.get(timeout=5) is PeerMessageErrCode.OK
    bob_rec.wait_for("on_message_received_from_peer")
    assert "RtmServiceActor" not in _live_loops(bob)  # its turn ran on the relay
    assert not hub_relay.greenlet.dead
