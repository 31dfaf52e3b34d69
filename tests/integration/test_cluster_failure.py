"""Nodes that die or lose Redis: users move to a live node and nothing accepted is lost."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.socket
import pytest
import redis
from gevent.server import StreamServer

import rtm_actors as ra
from rtm_actors import PeerMessageErrCode, PeerOnlineState, SendMessageOptions
from rtm_actors.testing import EventRecorder, running_server, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.redis]
OFFLINE = SendMessageOptions(enable_offline_messaging=True)
ACCEPTED = {PeerMessageErrCode.OK, PeerMessageErrCode.CACHED_BY_SERVER}


class ChannelRecorder(EventRecorder, ra.ChannelEventHandler):
    """Records every channel callback."""


def start_node(store: str) -> tuple[subprocess.Popen[str], str]:
    """``rtm-actors serve`` in its own process on a free port; answer it and its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtm_actors.cli",
            "serve",
            "--port",
            "0",
            "--store",
            store,
            "--log-level",
            "warning",
            # The shared test Redis keeps nothing on disk: without this, offline
            # messages would be refused (test_redis_durability tests that).
            "--assume-redis-durable",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"(ws://\S+)", line)
    assert found, f"no URL in {line!r}"
    return proc, found.group(1)


@pytest.fixture
def node_processes(redis_url) -> Iterator[list[tuple[subprocess.Popen[str], str]]]:
    """Three server processes on one Redis database."""
    procs = [start_node(redis_url) for _ in range(3)]
    yield procs
    for proc, _ in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc, _ in procs:
        proc.wait(timeout=15)


def test_node_killed_mid_traffic(node_processes, make_client):
    """kill -9 of a node: its users reconnect to another node and carry on, users that
    stay away go offline and leave their channels, and every message the dead node
    accepted for an offline user is delivered."""
    (_, url0), (victim, url1), (_, url2) = node_processes

    def login(user: str, url: str | list[str]) -> tuple[ra.RtmService, EventRecorder]:
        # (A message lost with the dead node is reported SENT_TIMEOUT after 2 s.)
        rtm, rec = make_client(url, peer_message_timeout=2.0)
        rtm.login(None, user).get(timeout=5)
        return rtm, rec

    alice, _ = login("alice", url0)
    bob, bob_rec = login("bob", [url1, url2])  # moves to node 2 when node 1 dies
    eve, _ = login("eve", url1)
    dave, _ = login("dave", url1)  # stays with node 1: it goes offline with it
    carol, carol_rec = login("carol", url2)
    carol.subscribe_peers_online_status(["dave"]).get(timeout=5)
    room = ChannelRecorder()
    carol.create_channel("room", room).join().get(timeout=5)
    dave.create_channel("room", ChannelRecorder()).join().get(timeout=5)
    room.wait_for("on_member_joined")

    # Accepted by node 1 for an offline user: kept in Redis.
    for i in range(20):
        code = eve.send_message_to_peer("frank", eve.create_message(f"f{i}"), OFFLINE)
        assert code.get(timeout=5) is PeerMessageErrCode.CACHED_BY_SERVER

    futures: list[tuple[str, ra.RtmFuture]] = []

    def traffic() -> None:
        for i in range(150):
            msg = alice.create_message(f"b{i}")
            futures.append((msg.text, alice.send_message_to_peer("bob", msg, OFFLINE)))
            gevent.sleep(0.01)  # (real time: the traffic spans the kill)

    sender = gevent.spawn(traffic)
    wait_until(lambda: len(futures) >= 25, 10, "traffic under way")
    victim.kill()  # SIGKILL: no goodbye, no clean-up
    killed_at = time.monotonic()
    noticed: dict[str, float] = {}

    def notice(what: str, wait: Callable[[], object]) -> None:
        wait()
        noticed[what] = time.monotonic() - killed_at

    # The others notice within the bound (heartbeat 1 s + expiry 3 s = 4 s).
    noticing = [
        gevent.spawn(
            notice,
            "dave offline",
            lambda: carol_rec.wait_for(
                "on_peers_online_status_changed",
                lambda states: states.get("dave") is PeerOnlineState.OFFLINE,
                timeout=8,
            ),
        ),
        gevent.spawn(notice, "dave left", lambda: room.wait_for("on_member_left", timeout=8)),
    ]
    sender.join(timeout=10)

    results: dict[str, PeerMessageErrCode] = {}
    for text, future in futures:
        try:
            results[text] = future.get(timeout=10)
        except ra.RtmError as exc:
            results[text] = exc.code
    accepted = {t for t, code in results.items() if code in ACCEPTED}
    assert len(accepted) > 75
    wait_until(
        lambda: accepted <= {m.text for _, m in bob_rec.calls("on_message_received_from_peer")},
        10,
        "every accepted message to bob",
    )
    assert bob.connection_state is ra.ConnectionState.CONNECTED

    gevent.joinall(noticing, raise_error=True)
    assert [m.user_id for (m,) in room.calls("on_member_left")] == ["dave"]
    assert set(noticed) == {"dave offline", "dave left"}
    assert max(noticed.values()) < 4.0 + 1.0  # the bound, plus the time to say so

    _, frank_rec = login("frank", url0)
    frank_rec.wait_for("on_message_received_from_peer", count=20)
    assert [m.text for _, m in frank_rec.calls("on_message_received_from_peer")] == [
        f"f{i}" for i in range(20)
    ]


def test_client_tries_the_next_server_in_its_list(make_client):
    """A client given several URLs logs in through the first one that answers."""
    with running_server() as srv:
        rtm, _ = make_client(["ws://127.0.0.1:9/rtm", srv.url])
        rtm.login(None, "alice").get(timeout=5)
        assert rtm.connection_state is ra.ConnectionState.CONNECTED


@contextlib.contextmanager
def alice_and_bob_in_a_room(store: str, make_client) -> Iterator[tuple[Any, ...]]:
    """Two nodes on ``store``; alice on one, bob on the other, both in "room"."""
    with running_server(store=store) as a, running_server(store=store) as b:
        alice, alice_rec = make_client(a.url)
        alice.login(None, "alice").get(timeout=5)
        bob, bob_rec = make_client(b.url)
        bob.login(None, "bob").get(timeout=5)
        room = ChannelRecorder()
        alice.create_channel("room", room).join().get(timeout=5)
        bob.create_channel("room", ChannelRecorder()).join().get(timeout=5)
        room.wait_for("on_member_joined")
        yield alice, alice_rec, bob, bob_rec


def wait_whole(redis_url: str) -> None:
    """Wait until Redis holds both users, both members and both nodes again."""
    admin = redis.Redis.from_url(redis_url)
    wait_until(lambda: admin.hlen("rtm:route:testapp") == 2, 5, "routes whole")
    wait_until(lambda: admin.hlen("rtm:members:testapp:room") == 2, 5, "members whole")
    wait_until(lambda: admin.scard("rtm:nodes") == 2, 5, "both nodes registered")
    admin.close()


def test_redis_flushed_nodes_register_again(redis_url, make_client):
    """Redis restarted empty: nodes put their users and members back, and carry on."""
    with alice_and_bob_in_a_room(redis_url, make_client) as (alice, _, _, bob_rec):
        admin = redis.Redis.from_url(redis_url)
        admin.flushdb()  # what a restart of a Redis without persistence leaves
        admin.close()
        wait_whole(redis_url)
        msg = alice.create_message("still here")
        assert alice.send_message_to_peer("bob", msg).get(timeout=5) is PeerMessageErrCode.OK
        bob_rec.wait_for("on_message_received_from_peer")
        counts = alice.get_channel_member_count(["room"]).get(timeout=5)
        assert counts == {"room": 2}


class RedisLine:
    """A loopback TCP line to Redis that a test can take down (connections refused
    and reset) and bring back, like a short Redis outage."""

    def __init__(self) -> None:
        self.up = True
        self._live: list[gevent.socket.socket] = []
        self._server = StreamServer(("127.0.0.1", 0), self._handle)
        self._server.start()

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self._server.server_port}/{db}"

    def down(self) -> None:
        self.up = False
        for sock in self._live:
            sock.close()
        self._live.clear()

    def close(self) -> None:
        self.down()
        self._server.stop(timeout=1)

    def _handle(self, client: gevent.socket.socket, _address: object) -> None:
        if not self.up:
            client.close()
            return
        upstream = gevent.socket.create_connection(("127.0.0.1", 6379))
        self._live += [client, upstream]
        pumps = [gevent.spawn(_pump, client, upstream), gevent.spawn(_pump, upstream, client)]
        gevent.joinall(pumps, count=1)
        client.close()
        upstream.close()


def _pump(src: gevent.socket.socket, dst: gevent.socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass


def test_short_redis_outage(redis_db, redis_url, make_client):
    """Redis away for a second: nodes retry with backoff instead of failing, a message
    sent meanwhile arrives once Redis is back, and the shared state is whole again."""
    line = RedisLine()
    store = line.url(redis_db)
    try:
        with alice_and_bob_in_a_room(store, make_client) as (alice, alice_rec, bob, bob_rec):
            line.down()
            gevent.sleep(0.3)  # (real time: Redis away for a while before the send)
            sent = alice.send_message_to_peer("bob", alice.create_message("through it"))
            gevent.sleep(0.9)  # past the nodes' heartbeat expiry (1 s in tests)
            line.up = True
            assert sent.get(timeout=5) is PeerMessageErrCode.OK
            bob_rec.wait_for("on_message_received_from_peer")
            wait_whole(redis_url)
            states = bob.query_peers_online_status(["alice"]).get(timeout=5)
            assert states == {"alice": PeerOnlineState.ONLINE}
            reply = bob.create_message("back")
            assert bob.send_message_to_peer("alice", reply).get(timeout=5) is PeerMessageErrCode.OK
            alice_rec.wait_for("on_message_received_from_peer")
            for rtm in (alice, bob):
                assert rtm.connection_state is ra.ConnectionState.CONNECTED
    finally:
        line.close()


def test_rebuild_removes_what_no_session_holds(redis_url, make_client):
    """When a node registers again, what Redis holds for it but no session of it does
    (left by a session that failed while Redis was away) is removed and announced."""
    from rtm_actors.store import Route
    from rtm_actors.store.redis_routing import RedisMembershipStore, RedisRoutingStore

    with alice_and_bob_in_a_room(redis_url, make_client) as (alice, _, bob, bob_rec):
        admin = redis.Redis.from_url(redis_url)
        # A ghost: routed to alice's node and a member of the room there, with no session.
        alice_node_id = RedisRoutingStore(admin).locate("testapp", ["alice"])["alice"].node
        RedisRoutingStore(admin).claim(
            "testapp", "ghost", Route(alice_node_id, "gone", int(PeerOnlineState.ONLINE))
        )
        RedisMembershipStore(admin).join("testapp", "room", "ghost", alice_node_id)
        bob.subscribe_peers_online_status(["ghost"]).get(timeout=5)
        bob_rec.wait_for(
            "on_peers_online_status_changed",
            lambda states: states.get("ghost") is PeerOnlineState.ONLINE,
        )
        admin.delete(f"rtm:node:{alice_node_id}")  # as if Redis had lost it
        bob_rec.wait_for(
            "on_peers_online_status_changed",
            lambda states: states.get("ghost") is PeerOnlineState.OFFLINE,
        )
        wait_until(lambda: admin.hlen("rtm:members:testapp:room") == 2, 5, "ghost member gone")
        assert admin.hget("rtm:route:testapp", "ghost") is None
        assert alice.get_channel_member_count(["room"]).get(timeout=5) == {"room": 2}
        admin.close()
