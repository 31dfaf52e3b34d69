"""``ClientConfig.shared_dispatcher``: services that set it run their callbacks on one
greenlet of the process (the load tool's users do), each service's still in order."""

from __future__ import annotations

import gevent.event
import pytest

import rtm_actors as ra
from rtm_actors import PeerMessageErrCode
from rtm_actors.testing import wait_until

pytestmark = pytest.mark.integration

OK = PeerMessageErrCode.OK


def test_shared_services_share_one_dispatcher_that_outlives_a_release(logged_in):
    alice, _ = logged_in("alice")
    bob, bob_rec = logged_in("bob", shared_dispatcher=True)
    carol, carol_rec = logged_in("carol", shared_dispatcher=True)
    assert bob._dispatcher is carol._dispatcher
    assert alice._dispatcher is not bob._dispatcher  # the default: one of its own
    for i in range(3):
        for peer in ("bob", "carol"):
            message = alice.create_message(f"{peer}{i}")
            assert alice.send_message_to_peer(peer, message).get(timeout=5) is OK
    for peer, rec in (("bob", bob_rec), ("carol", carol_rec)):
        rec.wait_for("on_message_received_from_peer", count=3)
        texts = [m.text for _, m in rec.calls("on_message_received_from_peer")]
        assert texts == [f"{peer}0", f"{peer}1", f"{peer}2"]  # in order
    shared = bob._dispatcher
    bob.release()
    assert not shared.actor_stopped.is_set()  # carol's callbacks still run on it
    assert alice.send_message_to_peer("carol", alice.create_message("after")).get(timeout=5) is OK
    carol_rec.wait_for("on_message_received_from_peer", count=4)


def test_a_stuck_shared_callback_holds_up_callbacks_but_no_network_io(server, logged_in):
    """The documented price: a callback that blocks holds up the other sharing
    services' callbacks, never their sending, receiving or acknowledging."""
    from rtm_actors.testing.server import fast_client_config

    release = gevent.event.Event()

    class Stuck(ra.RtmServiceEventHandler):
        def on_message_received_from_peer(self, peer_id, message):
            release.wait()

    stuck = ra.create_agora_service().create_rtm_service()
    config = fast_client_config(shared_dispatcher=True)
    stuck.initialize("testapp", Stuck(), server_url=server.url, config=config)
    try:
        stuck.login(None, "stuck").get(timeout=5)
        alice, _ = logged_in("alice")
        bob, bob_rec = logged_in("bob", shared_dispatcher=True)
        assert bob._dispatcher is stuck._dispatcher
        assert (
            alice.send_message_to_peer("stuck", alice.create_message("hold")).get(timeout=5) is OK
        )
        # Bob's SDK takes and acknowledges the message (alice is told OK) ...
        assert alice.send_message_to_peer("bob", alice.create_message("hi")).get(timeout=5) is OK
        assert stuck.send_message_to_peer("bob", stuck.create_message("out")).get(timeout=5) is OK
        # ... but his callbacks wait behind the stuck one, then all come, in order.
        inbox = bob._dispatcher._actor_weakref().actor_inbox

        def bobs_messages_queued() -> int:
            callbacks = [envelope.message for envelope in inbox._items or ()]
            return sum(
                c.handler is bob_rec and c.method == "on_message_received_from_peer"
                for c in callbacks
            )

        wait_until(lambda: bobs_messages_queued() == 2, timeout=5, what="bob's callbacks queued")
        assert bob_rec.calls("on_message_received_from_peer") == []
        release.set()
        bob_rec.wait_for("on_message_received_from_peer", count=2)
        texts = [m.text for _, m in bob_rec.calls("on_message_received_from_peer")]
        assert texts == ["hi", "out"]
    finally:
        release.set()
        stuck.release()
