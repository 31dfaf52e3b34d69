"""The memory link pair: the server and the SDK's link talking without a port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.frames import (
    Ack,
    LoginOk,
    PeerMessage,
    Ping as Ping,
    Pong,
    Reply,
    SendPeerMessage,
    WireMessage,
)
from rtm_actors.server import RtmServer
from rtm_actors.server.link import Link
from rtm_actors.testing import (
    FakeClock,
    FrameClient,
    fast_server_config,
    memory_link_pair,
    serve_in_memory,
    settle,
    wait_until,
)


@pytest.fixture
def node() -> Iterator[RtmServer]:
    """A server node that never listens: its gateway serves memory links only."""
    server = RtmServer(store="memory", config=fast_server_config(grace_period=30.0))
    assert server.wsgi_app is not None  # (starts the node's actors)
    yield server
    server.stop(timeout=2.0)


def test_a_server_link_and_a_client_link_exchange_frames_and_the_close_code():
    """Frames a server ``Link`` writes reach the ``ClientLink`` whole and in order, and
    its close code comes with the close."""
    ws, client_link = memory_link_pair()
    link = Link(ws, "memory")
    got: list[object] = []
    client_link.start(on_frame=lambda _l, f: got.append(f), on_closed=lambda _l: None)
    for ts in (1.0, 2.0, 3.0):
        assert link.send(b'{"t":"pong","ts":%.1f}' % ts)
    link.close(DisconnectCode.SHUTDOWN, "bye")
    assert client_link.wait_ended(5.0)
    assert got == [Pong(1.0), Pong(2.0), Pong(3.0)]
    assert client_link.close_code == DisconnectCode.SHUTDOWN
    ws.close()


def test_a_gateway_serves_a_memory_link_as_a_websocket(node):
    """Logged in over memory links, two users exchange a peer message through their
    sessions, as over TCP: the sender's reply comes once the receiver acknowledged."""
    alice = FrameClient(serve_in_memory(node.wsgi_app))
    bob = FrameClient(serve_in_memory(node.wsgi_app))
    assert isinstance(alice.login("alice"), LoginOk)
    bob.login("bob")
    assert alice.send(SendPeerMessage(2, "bob", WireMessage(7, 1, "hi")))
    pushed = bob.wait_for(lambda f: isinstance(f, PeerMessage))
    assert (pushed.peer_id, pushed.message.text) == ("alice", "hi")
    assert bob.send(Ack(pushed.seq))
    reply = alice.wait_for(lambda f: isinstance(f, Reply) and f.rid == 2)
    assert reply.code == 0
    assert bob.send(Ping(5.0))
    assert bob.wait_for(lambda f: isinstance(f, Pong)) == Pong(5.0)
    alice.close()
    bob.close()


def test_a_session_outlives_its_link_for_the_grace_period_on_fake_time(node):
    """With a fake clock, a 30-second grace period passes in an instant: the session
    stays routable for all of it and is gone once it ends."""
    key = ("testapp", "carol")
    directory = node.context.directory
    with FakeClock() as clock:
        carol = FrameClient(serve_in_memory(node.wsgi_app))
        carol.login("carol")
        carol.close()
        session = directory.route(key)
        assert session is not None
        wait_until(lambda: clock.pending >= 1, what="the grace timer")
        clock.advance(29.0)
        assert directory.route(key) is session
        clock.advance(1.5)
        wait_until(lambda: directory.route(key) is None, what="the session's end")


def test_settle_lets_frames_written_in_this_process_reach_their_reader():
    """After ``settle``, what one end wrote has been read and handled at the other: an
    absence can then be asserted without a sleep."""
    ws, client_link = memory_link_pair()
    link = Link(ws, "memory")
    got: list[object] = []
    client_link.start(on_frame=lambda _l, f: got.append(f), on_closed=lambda _l: None)
    for _ in range(20):
        assert link.send(b'{"t":"pong","ts":1.0}')
        settle()
        assert got[-1:] == [Pong(1.0)]
        got.clear()
    link.close(DisconnectCode.SHUTDOWN)
    assert client_link.wait_ended(5.0)
    ws.close()
