"""Offline messages on Redis: CACHED_BY_SERVER only where a Redis restart keeps them.

A Redis with an append-only file keeps what it acknowledged across a kill -9 and a
restart; one without comes back empty, so a node refuses to cache offline messages
there (PEER_UNREACHABLE) unless the operator assumes durability, and says so at
``/readyz`` and on ``/metrics``.
"""

from __future__ import annotations

import pytest

from rtm_actors import PeerMessageErrCode, SendMessageOptions
from rtm_actors.protocol.errors import RequestError
from rtm_actors.testing import running_server
from rtm_actors.testing.http import http_get
from rtm_actors.testing.redis_process import redis_process

pytestmark = [pytest.mark.integration, pytest.mark.redis]
OFFLINE = SendMessageOptions(enable_offline_messaging=True)


def readyz(port: int) -> str:
    status, body = http_get(port, "/readyz")
    assert status == 200
    return body


def metric(port: int, name: str) -> float:
    for line in http_get(port, "/metrics")[1].splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(name)


def send_offline(make_client, url: str, text: str) -> PeerMessageErrCode:
    """Log in as alice, send bob (offline) one message with offline messaging: its code."""
    alice, _ = make_client(url)
    alice.login(None, "alice").get(timeout=5)
    try:
        message = alice.create_message(text)
        return alice.send_message_to_peer("bob", message, OFFLINE).get(timeout=5)
    except RequestError as failed:
        return failed.code
    finally:
        alice.logout().get(timeout=5)


def test_a_redis_without_persistence_gets_no_offline_messages(own_redis_dir, make_client):
    with (
        redis_process(own_redis_dir, appendonly=False) as redis_server,
        running_server(store=redis_server.url) as node,
    ):
        assert send_offline(make_client, node.url, "kept?") is (PeerMessageErrCode.PEER_UNREACHABLE)
        assert "warning: offline messages refused" in readyz(node.port)
        assert metric(node.port, "rtm_offline_store_durable") == 0.0


def test_assuming_durability_caches_and_says_what_a_restart_costs(own_redis_dir, make_client):
    with (
        redis_process(own_redis_dir, appendonly=False) as redis_server,
        running_server(store=redis_server.url, assume_redis_durable=True) as node,
    ):
        assert send_offline(make_client, node.url, "kept") is (PeerMessageErrCode.CACHED_BY_SERVER)
        assert "a Redis restart loses offline messages" in readyz(node.port)


def test_cached_messages_survive_a_redis_kill_and_restart_with_aof(own_redis_dir, make_client):
    """appendonly yes (appendfsync always): kill -9 Redis after CACHED_BY_SERVER, start
    it again, and the receiver gets every cached message."""
    with (
        redis_process(own_redis_dir, appendonly=True) as redis_server,
        running_server(store=redis_server.url) as node,
    ):
        assert readyz(node.port) == "ready\n"
        assert metric(node.port, "rtm_offline_store_durable") == 1.0
        alice, _ = make_client(node.url)
        alice.login(None, "alice").get(timeout=5)
        sent = [f"m{i}" for i in range(20)]
        for text in sent:
            code = alice.send_message_to_peer("bob", alice.create_message(text), OFFLINE)
            assert code.get(timeout=5) is PeerMessageErrCode.CACHED_BY_SERVER
        redis_server.kill()
        redis_server.start()
        bob, bob_events = make_client(node.url)
        bob.login(None, "bob").get(timeout=10)
        got = bob_events.wait_for("on_message_received_from_peer", count=20, timeout=10)
        assert [message.text for _peer, message in got] == sent
