"""Attacks the server already withstood before the hardening work, kept as a standing
suite: each runs against a server process while a probe pair exchanges messages."""

from __future__ import annotations

import pytest

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.frames import SendPeerMessage, WireMessage
from rtm_actors.testing import wait_until
from rtm_actors.testing.hostile import client_frame

pytestmark = pytest.mark.integration

#: RSS growth allowed for one attacker's socket (docs/security.md, "Attacks tested").
SMALL_GROWTH_MIB = 20


def test_a_frame_over_the_size_limit_is_refused_before_its_payload(start_server, hostile, probe):
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    sock = hostile(target)
    assert "101" in sock.upgrade()
    sock.login("attacker")
    # Announce 2^63-1 bytes, send a little: the header alone is refused.
    sock.send(client_frame(b"x" * 1000, length=2**63 - 1))
    assert sock.close_code() == DisconnectCode.MESSAGE_TOO_BIG
    wait_until(  # (the attacker's session has taken note: the server is done with it)
        lambda: target.metrics().value("rtm_links_lost_total", reason="frame too big") >= 1,
        timeout=10,
        what="the link's loss counted",
    )
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()


def test_non_http_bytes_and_huge_headers_are_refused(start_server, hostile, probe):
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    raw = hostile(target)
    raw.send(b"\x16\x03\x01" + b"\x00" * 5000 + b"\r\n\r\n")  # not HTTP
    assert not raw.is_open_after(5.0)
    huge = hostile(target)
    huge.send(b"GET /rtm HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert not huge.is_open_after(5.0)
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()


def test_a_message_flood_past_the_rate_limit_costs_only_the_flooder(start_server, hostile, probe):
    target = start_server(message_rate=200, message_rate_window=3.0)
    pair = probe(target)
    base = target.rss_mib()
    sock = hostile(target)
    assert "101" in sock.upgrade()
    sock.login("flooder")
    before = target.metrics().value("rtm_messages_in_total", kind="send_peer")
    frames = b"".join(
        client_frame(codec.encode(SendPeerMessage(i, "nobody", WireMessage(i, 1, "x" * 100))))
        for i in range(5000)
    )
    assert sock.send(frames)
    wait_until(  # (the server has read the whole flood)
        lambda: target.metrics().value("rtm_messages_in_total", kind="send_peer") >= before + 5000,
        timeout=20,
        what="the flood read",
    )
    assert target.rss_mib() - base < SMALL_GROWTH_MIB
    pair.stop().assert_healthy()
