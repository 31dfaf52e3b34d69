"""Channel messages across nodes go through each channel's log in Redis: none is lost
while Redis is away, and a member that moves to another node catches up there."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gevent
import pytest

import rtm_actors as ra
from rtm_actors import ChannelMessageErrCode
from rtm_actors.protocol.errors import RequestError
from rtm_actors.testing import EventRecorder, running_server
from rtm_actors.testing.redis_process import redis_process

pytestmark = [pytest.mark.integration, pytest.mark.redis]


class ChannelRecorder(EventRecorder, ra.ChannelEventHandler):
    """Records every channel callback."""


def texts(rec: EventRecorder) -> list[str]:
    return [message.text for _peer, message in rec.calls("on_message_received")]


@contextlib.contextmanager
def in_room(make_client, url: Any, user_id: str) -> Iterator[tuple[Any, Any, ChannelRecorder]]:
    rtm, _ = make_client(url)
    rtm.login(None, user_id).get(timeout=5)
    rec = ChannelRecorder()
    channel = rtm.create_channel("room", rec)
    channel.join().get(timeout=5)
    yield rtm, channel, rec


def send(rtm: Any, channel: Any, text: str) -> None:
    """Send; answered OK (else the future raises)."""
    channel.send_message(rtm.create_message(text)).get(timeout=10)


def test_member_moving_to_another_node_catches_up_there(redis_url, make_client):
    """bob's node stops while alice keeps sending: bob logs in on alice's node, re-joins
    with its position, and gets every message once, in order (none missed, none twice)."""
    with (
        running_server(store=redis_url, assume_redis_durable=True) as keep,
        in_room(make_client, keep.url, "alice") as (alice, room, _),
        running_server(store=redis_url, assume_redis_durable=True) as leaving,
        in_room(make_client, [leaving.url, keep.url], "bob") as (_bob, _, bob_rec),
    ):
        for i in range(5):
            send(alice, room, f"m{i}")
        bob_rec.wait_for("on_message_received", count=5)
        gevent.spawn(leaving.stop)  # bob's link drops; it moves on to alice's node
        for i in range(5, 15):
            send(alice, room, f"m{i}")
            gevent.sleep(0.05)  # (real time: the traffic spans the node's stop)
        bob_rec.wait_for("on_message_received", count=15, timeout=15)
        gevent.sleep(0.3)  # (an absence, from Redis: a duplicate would arrive meanwhile)
        assert texts(bob_rec) == [f"m{i}" for i in range(15)]


def test_channel_messages_sent_while_redis_is_down_all_arrive(tmp_path, make_client):
    """Redis killed (kill -9) for 3 s and started again: every channel message accepted
    meanwhile reaches the member on the other node, in order."""
    with (
        redis_process(tmp_path, appendonly=True) as redis_server,
        running_server(store=redis_server.url) as a,
        running_server(store=redis_server.url) as b,
        in_room(make_client, a.url, "alice") as (alice, room, alice_rec),
        in_room(make_client, b.url, "bob") as (_bob, _, bob_rec),
    ):
        alice_rec.wait_for("on_member_joined")
        send(alice, room, "before")
        bob_rec.wait_for("on_message_received")
        redis_server.kill()
        sent = [f"during {i}" for i in range(30)]
        for text in sent:
            send(alice, room, text)
            gevent.sleep(0.1)  # (real time: the traffic spans the outage)
        redis_server.start()
        bob_rec.wait_for("on_message_received", count=31, timeout=20)
        gevent.sleep(0.3)  # (an absence, from Redis: a duplicate would arrive meanwhile)
        assert texts(bob_rec) == ["before", *sent]


def test_past_the_queue_bound_channel_messages_are_refused_not_dropped(tmp_path, make_client):
    """Redis away long enough to fill half the publish queue (10 envelopes here): the
    sender is told FAILURE from then on, and every message answered OK arrives."""
    with (
        redis_process(tmp_path, appendonly=True) as redis_server,
        running_server(store=redis_server.url, cluster_publish_queue=10) as a,
        running_server(store=redis_server.url) as b,
        in_room(make_client, a.url, "alice") as (alice, room, alice_rec),
        in_room(make_client, b.url, "bob") as (_bob, _, bob_rec),
    ):
        alice_rec.wait_for("on_member_joined")
        redis_server.kill()
        accepted, refused = [], []
        for i in range(12):
            try:
                send(alice, room, f"m{i}")
                accepted.append(f"m{i}")
            except RequestError as exc:
                refused.append(exc.code)
        redis_server.start()
        assert 0 < len(accepted) <= 5
        assert refused == [ChannelMessageErrCode.FAILURE] * (12 - len(accepted))
        bob_rec.wait_for("on_message_received", count=len(accepted), timeout=20)
        gevent.sleep(0.3)  # (an absence, from Redis: a refused one would arrive meanwhile)
        assert texts(bob_rec) == accepted


def test_peer_message_to_a_known_route_waits_out_a_redis_outage(tmp_path, make_client):
    """Redis away longer than a cached route is trusted (5 s): the sender's session
    does not fail on the route lookup; the message goes to the known node once Redis is
    back, and its sender is told the truth (OK only if bob got it)."""
    with (
        redis_process(tmp_path, appendonly=True) as redis_server,
        running_server(store=redis_server.url) as a,
        running_server(store=redis_server.url) as b,
    ):
        alice, _ = make_client(a.url)
        alice.login(None, "alice").get(timeout=5)
        bob, bob_rec = make_client(b.url)
        bob.login(None, "bob").get(timeout=5)
        first = alice.send_message_to_peer("bob", alice.create_message("before"))
        assert first.get(timeout=5) is ra.PeerMessageErrCode.OK
        redis_server.kill()
        gevent.sleep(5.5)  # (real time: past the 5 s a cached route is trusted)
        sent = alice.send_message_to_peer("bob", alice.create_message("during"))
        gevent.sleep(2.5)  # (the lookup's retries give up within ~2 s)
        redis_server.start()
        try:
            sent.get(timeout=15)
            bob_rec.wait_for("on_message_received_from_peer", count=2, timeout=10)
        except RequestError as exc:
            assert exc.code is ra.PeerMessageErrCode.SENT_TIMEOUT  # noqa: PT017
        assert a.context.metrics.actor_events["crashed"] == 0
