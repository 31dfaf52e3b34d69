"""The dropping relay against a real server and SDK: what a lost push does to the SDK,
the server's receipts and the relay's own record."""

from __future__ import annotations

import json

import gevent
import pytest

from rtm_actors import (
    ConnectionChangeReason as Reason,
    ConnectionState as State,
    PeerMessageErrCode,
)
from rtm_actors.protocol.frames import ChannelMessage, PeerMessage
from rtm_actors.testing import DroppingRelay, running_server, wait_until
from rtm_actors.testing.relay import FrameCutter

pytestmark = pytest.mark.integration


def _bob_through(relay, server, make_client, tmp_path):
    """alice on the server, bob through ``relay`` logging to a file: both logged in."""
    alice, _ = make_client(server.url)
    bob, bob_rec = make_client(relay.url())
    log = tmp_path / "bob.log"
    assert bob.set_log_file(str(log)) == 0
    alice.login(None, "alice").get(timeout=5)
    bob.login(None, "bob").get(timeout=5)
    return alice, bob_rec, log


def _events(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_dropped_push_is_noticed_resumed_and_delivered(server, make_client, tmp_path):
    """Two peer messages to bob are held back on the way: bob's SDK sees the next
    push skip a number, acknowledges nothing past the gap, drops the link and resumes;
    the server sends the held-back messages again. bob gets all six, once, in order,
    and each sender's OK is true."""
    with DroppingRelay("127.0.0.1", server.port, every=2, limit=2) as relay:
        alice, bob_rec, log = _bob_through(relay, server, make_client, tmp_path)
        texts = [f"m{i}" for i in range(1, 7)]
        futures = [alice.send_message_to_peer("bob", alice.create_message(t)) for t in texts]
        bob_rec.wait_for("on_message_received_from_peer", count=6)
        assert [f.get(timeout=5) for f in futures] == [PeerMessageErrCode.OK] * 6
        got = [m.text for _, m in bob_rec.calls("on_message_received_from_peer")]
        assert got == texts
        assert relay.dropped == 2
        assert relay.acknowledged_drops() == 0  # never acknowledged where it was lost
        assert len(relay.connections) >= 2  # the gap cost a link
    gaps = [e for e in _events(log) if e["event"] == "push_gap"]
    assert gaps
    assert all(e["got"] > e["expected"] and e["level"] == "warning" for e in gaps)


def _send(alice, text):
    return alice.send_message_to_peer("bob", alice.create_message(text))


#: How long the resumes are counted. Real time: the SDK's reconnect timers run on it.
_WINDOW = 3.0


def test_a_push_lost_on_every_link_slows_the_resumes_and_comes_once_let_through(
    make_client, tmp_path
):
    """A relay loses the same peer message on every link, as a middlebox with a frame
    size limit would. bob's SDK never acknowledges past it and keeps resuming, but
    ever more slowly (reconnect delay from 50 ms, at most 2 s here): a handful of
    links in the window, not one every ~60 ms (about 50 of them). The application
    sees no state change meanwhile. Once the relay lets it through, the message comes
    on the next link and every receipt is OK. (The server keeps a dropped session
    longer than bob's longest wait, as by default: 30 s against 10 s.)"""
    with (
        running_server(grace_period=10.0) as server,
        DroppingRelay("127.0.0.1", server.port, every=1, limit=1, sticky=True) as relay,
    ):
        alice, _ = make_client(server.url, peer_message_timeout=30.0)
        bob, bob_rec = make_client(relay.url(), backoff_max=2.0)
        log = tmp_path / "bob.log"
        assert bob.set_log_file(str(log)) == 0
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        futures = [_send(alice, "m1")]  # (a link's first message from alice always passes)
        bob_rec.wait_for("on_message_received_from_peer")
        futures += [_send(alice, "m2"), _send(alice, "m3")]  # m2 is lost on every link from now on
        wait_until(lambda: len(relay.connections) >= 2, what="the first resume")
        before = len(relay.connections)
        gevent.sleep(_WINDOW)
        resumes = len(relay.connections) - before
        assert 1 <= resumes <= 8
        assert bob_rec.calls("on_message_received_from_peer")[1:] == []
        assert relay.acknowledged_drops() == 0
        relay.let_through()
        bob_rec.wait_for("on_message_received_from_peer", count=3, timeout=10)
        assert [f.get(timeout=5) for f in futures] == [PeerMessageErrCode.OK] * 3
        got = [m.text for _, m in bob_rec.calls("on_message_received_from_peer")]
        assert got == ["m1", "m2", "m3"]
        assert relay.acknowledged_drops() == 0
        assert bob_rec.calls("on_connection_state_changed") == [
            (State.CONNECTING, Reason.LOGIN),
            (State.CONNECTED, Reason.LOGIN_SUCCESS),
        ]
    gaps = [e for e in _events(log) if e["event"] == "push_gap"]
    assert len({e["expected"] for e in gaps}) == 1  # the same push every time
    assert [e["links"] for e in gaps] == list(range(1, len(gaps) + 1))
    assert all((e["level"] == "error") is (e["links"] >= 3) for e in gaps)


def test_replies_and_logins_pass_and_the_limit_holds(server, make_client):
    """Only the chosen pushes are dropped, never more than ``limit``: bob's logins,
    replies and later messages all come through, the dropped ones on a new link."""
    with DroppingRelay("127.0.0.1", server.port, every=1, limit=2) as relay:
        alice, _ = make_client(server.url)
        bob, bob_rec = make_client(relay.url())
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        for i in range(5):
            alice.send_message_to_peer("bob", alice.create_message(f"m{i}"))
        bob_rec.wait_for("on_message_received_from_peer", count=5)
        assert bob.query_peers_online_status(["alice"]).get(timeout=5)
        assert bob.send_message_to_peer("alice", bob.create_message("hi")).get(timeout=5) == 0
        assert relay.dropped == 2
        got = [m.text for _, m in bob_rec.calls("on_message_received_from_peer")]
        assert got == [f"m{i}" for i in range(5)]


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
