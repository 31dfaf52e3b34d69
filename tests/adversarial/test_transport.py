"""Attacks on the websocket transport: framing RFC 6455
forbids, endless fragments, control frames, a client that never reads, bad handshakes.

Each runs against a server process while a probe pair exchanges messages, and asserts
the documented close code (or HTTP status), an RSS bound and a healthy probe. The
figures measured before and after the fix are in docs/security.md, "Attacks tested".
"""

from __future__ import annotations

import time

import gevent
import pytest

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.frames import SendPeerMessage, WireMessage
from rtm_actors.protocol.wsframes import OP_CONTINUATION, OP_PING, OP_TEXT
from rtm_actors.server.wsio import CLOSE_PROTOCOL_ERROR
from rtm_actors.testing import wait_until
from rtm_actors.testing.hostile import client_frame

pytestmark = pytest.mark.integration

#: RSS growth allowed for one attacker (docs/security.md, "Attacks tested").
SMALL_GROWTH_MIB = 20
#: The same, when the victim's session keeps what it was sent for a resume: its
#: unacknowledged window holds 8 MiB of messages at most (``max_unacked_bytes``) for the
#: grace period; the rest of the growth is the allocator's high-water mark from the
#: 45 MB streamed through (a second and third attack add ~10-14 MiB each: the window).
WINDOW_GROWTH_MIB = 65
#: Seconds an attack streams at most (it is cut off long before, once fixed).
ATTACK_SECONDS = 3.0


def logged_in(hostile, target, user: str):
    """A raw socket, upgraded and logged in as ``user`` (its login_ok read)."""
    sock = hostile(target)
    assert "101" in sock.upgrade()
    sock.login(user)
    assert sock.wait_text(b"login_ok")
    return sock


def links_lost(target, reason: str) -> float:
    """The server's count of links lost for ``reason`` (from /metrics)."""
    _, metrics = target.get("/metrics")
    prefix = f'rtm_links_lost_total{{reason="{reason}"}} '
    line = next((x for x in metrics.splitlines() if x.startswith(prefix)), prefix + "0")
    return float(line[len(prefix) :])


def assert_cut_off_as_slow(sock, target) -> None:
    """The server ended ``sock`` as a slow consumer. (Its buffers are full, so there is
    no room for a close frame: the socket is just shut, as for any slow consumer.)"""
    assert sock.close_code(5.0) in (None, DisconnectCode.SLOW_CONSUMER)
    wait_until(lambda: links_lost(target, "slow consumer") >= 1, 10, "the loss counted")
    assert links_lost(target, "slow consumer") == 1


def upgraded(hostile, target, when: str):
    """A raw socket, upgraded, and logged in if ``when`` is "after login"."""
    if when == "after login":
        return logged_in(hostile, target, "attacker")
    sock = hostile(target)
    assert "101" in sock.upgrade()
    return sock


@pytest.mark.parametrize(
    ("when", "code"),
    [
        ("before login", DisconnectCode.PROTOCOL_ERROR),
        ("after login", DisconnectCode.MESSAGE_TOO_BIG),
    ],
)
def test_endless_empty_fragments_are_cut_off(start_server, hostile, probe, when, code):
    """Item 1: a message of endless empty (masked) fragments is cut off at the fragment
    cap: as a too-big message, 3505 (3502 with an `error` frame as the first one)."""
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    sock = upgraded(hostile, target, when)
    sock.send(client_frame(b"", OP_TEXT, fin=False))
    empties = client_frame(b"", OP_CONTINUATION, fin=False) * 10_000
    sock.stream(empties, ATTACK_SECONDS, 200 << 20)
    assert sock.close_code(5.0) == code
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()


def test_unmasked_frames_are_closed_1002(start_server, hostile, probe):
    """Item 1: an unmasked client frame (the issue's `01 00` then `00 00` stream) is
    closed with 1002 at once, before and after login."""
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    before = hostile(target)
    assert "101" in before.upgrade()
    before.send(bytes((OP_TEXT, 0)))
    before.stream(bytes((OP_CONTINUATION, 0)) * 50_000, ATTACK_SECONDS, 200 << 20)
    assert before.close_code(5.0) == CLOSE_PROTOCOL_ERROR
    after = logged_in(hostile, target, "unmasked")
    after.send(client_frame(b'{"t":"ping"}', masked=False))
    assert after.close_code(5.0) == CLOSE_PROTOCOL_ERROR
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()


@pytest.mark.parametrize(
    "ping",
    [
        client_frame(b"p" * 200_000, OP_PING),
        client_frame(b"p" * 126, OP_PING),
        client_frame(b"p", OP_PING, fin=False) + client_frame(b"q", OP_CONTINUATION),
    ],
    ids=["200 KB", "126 bytes", "fragmented"],
)
def test_oversized_or_fragmented_pings_are_closed_1002(start_server, hostile, probe, ping):
    """Item 2: a ping over 125 bytes or in fragments is closed with 1002, not answered."""
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    sock = logged_in(hostile, target, "pinger")
    sock.stream(ping, ATTACK_SECONDS, 400 << 20)
    assert sock.close_code(5.0) == CLOSE_PROTOCOL_ERROR
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()


def test_pongs_to_a_client_that_never_reads_are_bounded_in_bytes(start_server, hostile, probe):
    """Item 2: legal pings from a socket that never reads: its pongs pile up until
    ``max_pending_bytes``, then it is cut off as a slow consumer (3008). (A frame cap
    as high as ``max_backlog`` alone would let them pile up.)"""
    target = start_server(max_backlog=1_000_000, max_pending_bytes=1 << 20)
    pair = probe(target)
    base = target.rss_mib()
    sock = logged_in(hostile, target, "nonreader")
    pings = client_frame(b"p" * 125, OP_PING) * 1000
    sock.stream(pings, ATTACK_SECONDS, 100 << 20)
    assert_cut_off_as_slow(sock, target)
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()


def test_big_messages_to_a_client_that_never_reads_are_bounded_in_bytes(
    start_server, hostile, probe
):
    """Item 2: a user that never reads, sent 32 KB messages at the allowed rate by an
    accomplice, is cut off at ``max_pending_bytes`` (default 4 MiB) as a slow consumer,
    long before 5,000 frames (~160 MB) wait for it."""
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    victim = logged_in(hostile, target, "sink")
    sender = logged_in(hostile, target, "source")
    text = "x" * 32_000
    frames = b"".join(
        client_frame(codec.encode(SendPeerMessage(i, "sink", WireMessage(i, 1, text))))
        for i in range(1, 1400)
    )
    sender.stream(frames, ATTACK_SECONDS, len(frames))
    assert_cut_off_as_slow(victim, target)
    growth = target.rss_mib() - base
    assert growth < WINDOW_GROWTH_MIB, growth
    pair.stop().assert_healthy()


@pytest.mark.parametrize("when", ["before login", "after login"])
def test_a_reserved_bit_closes_1002_at_once(start_server, hostile, probe, when):
    """Item 9: a frame with RSV1 set is closed with 1002 at once (it was 3009 "no
    login" before login, and no close frame at all after)."""
    target = start_server()
    pair = probe(target)
    sock = upgraded(hostile, target, when)
    sock.send(client_frame(b'{"t":"ping"}', rsv=4))
    assert sock.close_code(3.0) == CLOSE_PROTOCOL_ERROR
    pair.stop().assert_healthy()


def test_after_a_protocol_error_the_session_knows_at_once(start_server, hostile, probe):
    """Item 9: the session learns that its link ended, with the protocol error as the
    reason, and the same user can log in again at once."""
    target = start_server(grace_period=30.0)
    pair = probe(target)
    sock = logged_in(hostile, target, "broken")
    sock.send(client_frame(b"x", 0x3))  # a reserved opcode
    assert sock.close_code(3.0) == CLOSE_PROTOCOL_ERROR
    wait_until(lambda: links_lost(target, "websocket protocol error") >= 1, 10, "the loss")
    assert links_lost(target, "websocket protocol error") == 1
    again = logged_in(hostile, target, "broken")
    assert again.is_open_after(1.0)
    pair.stop().assert_healthy()


@pytest.mark.parametrize(
    ("kwargs", "status", "header"),
    [
        ({"key": "not base64!"}, "400", None),
        ({"key": "c2hvcnQ="}, "400", None),  # base64 of 5 bytes, not 16
        ({"version": "12"}, "426", "Sec-WebSocket-Version: 13"),
        ({"version": "8"}, "426", "Sec-WebSocket-Version: 13"),
    ],
    ids=["garbage key", "short key", "version 12", "draft version 8"],
)
def test_a_bad_handshake_gets_400_or_426(start_server, hostile, probe, kwargs, status, header):
    """Item 10: a bad Sec-WebSocket-Key answers 400, an unsupported version 426 naming
    version 13 (it was 500 with a traceback logged per request)."""
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    for _ in range(200):
        sock = hostile(target)
        assert status in sock.upgrade(**kwargs), sock.status_line
        sock.close()
    if header is not None:
        assert header in sock.response_head
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()


def test_a_header_trickled_after_login_does_not_keep_the_link(start_server, hostile, probe):
    """A frame header sent one byte at a time never completes a message, so it is
    silence to the idle sweep: the link ends at the idle timeout."""
    target = start_server(idle_timeout=2.0)
    pair = probe(target)
    sock = logged_in(hostile, target, "trickler")
    began = time.monotonic()
    for byte in client_frame(b"x" * 100_000)[:14]:  # 7 s, if it were let
        if not sock.send(bytes((byte,))):
            break  # the server has closed
        gevent.sleep(0.5)  # (the attack's pace, in real time: the idle timeout is under test)
    assert not sock.is_open_after(2.0)
    assert time.monotonic() - began < 2.0 + 3.0  # the idle timeout and the sweep's step
    pair.stop().assert_healthy()
