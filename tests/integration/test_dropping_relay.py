"""The dropping relay against a real server and SDK: what a lost push does to the SDK,
the server's receipts and the relay's own record."""

from __future__ import annotations

import gevent
import pytest

from rtm_actors import PeerMessageErrCode
from rtm_actors.protocol.frames import ChannelMessage, PeerMessage
from rtm_actors.testing import DroppingRelay, wait_until
from rtm_actors.testing.relay import FrameCutter

pytestmark = pytest.mark.integration


def test_a_dropped_push_is_acknowledged_past_and_its_sender_told_ok(server, make_client):
    """Every 2nd peer message to bob is held back: bob's SDK never sees it, its next
    ``Ack`` covers it all the same, so the server tells the sender OK; the last drop,
    which no later push covers, stays unanswered."""
    with DroppingRelay("127.0.0.1", server.port, every=2) as relay:
        alice, _ = make_client(server.url)
        bob, bob_rec = make_client(relay.url())
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        texts = [f"m{i}" for i in range(1, 7)]
        futures = [alice.send_message_to_peer("bob", alice.create_message(t)) for t in texts]
        bob_rec.wait_for("on_message_received_from_peer", count=3)
        for future in futures[:5]:
            assert future.get(timeout=5) is PeerMessageErrCode.OK
        gevent.sleep(0.3)
        got = [m.text for _, m in bob_rec.calls("on_message_received_from_peer")]
        assert got == ["m1", "m3", "m5"]
        assert [push.message.text for c in relay.connections for push in c.dropped] == [
            "m2",
            "m4",
            "m6",
        ]
        assert relay.acknowledged_drops() == 2
        assert not futures[5].done()  # m6: held unacknowledged by bob's server session


def test_replies_and_logins_pass_and_the_limit_holds(server, make_client):
    """Only the chosen pushes are dropped, never more than ``limit``: bob's logins,
    replies and later messages all come through."""
    with DroppingRelay("127.0.0.1", server.port, every=1, limit=2) as relay:
        alice, _ = make_client(server.url)
        bob, bob_rec = make_client(relay.url())
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        for i in range(5):
            alice.send_message_to_peer("bob", alice.create_message(f"m{i}"))
        bob_rec.wait_for("on_message_received_from_peer", count=3)
        assert bob.query_peers_online_status(["alice"]).get(timeout=5)
        assert bob.send_message_to_peer("alice", bob.create_message("hi")).get(timeout=5) == 0
        assert relay.dropped == 2
        wait_until(lambda: relay.acknowledged_drops() == 2, timeout=5)


def test_the_cutter_reads_heads_and_frames_however_they_are_split():
    """The handshake head and each frame come out whole, masked payloads unmasked,
    from bytes that arrive one at a time."""
    from rtm_actors.protocol import codec
    from rtm_actors.protocol.frames import Ack
    from rtm_actors.protocol.wsframes import OP_PING, frame, masked_frame

    head = b"GET /rtm HTTP/1.1\r\nHost: x\r\n\r\n"
    ack = codec.encode(Ack(7))
    big = b"x" * 300
    data = head + masked_frame(ack, b"\x01\x02\x03\x04") + frame(b"", OP_PING) + frame(big)
    cutter = FrameCutter()
    pieces = [piece for byte in data for piece in cutter.feed(bytes([byte]))]
    assert b"".join(raw for raw, _ in pieces) == data
    assert [payload for _, payload in pieces] == [None, ack, None, big]


def test_only_message_pushes_may_be_dropped(server):
    """A relay asked to drop replies (or nothing) is refused at once."""
    from rtm_actors.protocol.frames import Reply

    with pytest.raises(ValueError, match="kinds"):
        DroppingRelay("127.0.0.1", server.port, every=2, kinds=(Reply,))
    assert DroppingRelay("127.0.0.1", server.port, every=3, kinds=(ChannelMessage, PeerMessage))
