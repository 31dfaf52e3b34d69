"""A link's writes on a real socket pair: what one round of the event loop sends goes
out in one write when the round ends, in order; nothing is written after close."""

from __future__ import annotations

import types

import gevent
import gevent.socket

from rtm_actors.server import wsio
from rtm_actors.server.link import MAX_HELD_FRAMES, Link
from rtm_actors.testing import end_round


def make_link() -> tuple[Link, gevent.socket.socket]:
    ours, theirs = gevent.socket.socketpair()
    ws = types.SimpleNamespace(handler=types.SimpleNamespace(socket=ours))
    return Link(ws, "test"), theirs


def read_available(sock: gevent.socket.socket) -> bytes:
    data = b""
    sock.setblocking(False)
    try:
        while chunk := sock._sock.recv(1 << 16):
            data += chunk
    except BlockingIOError:
        pass
    return data


def test_frames_sent_in_one_round_are_written_when_it_ends_in_order():
    link, theirs = make_link()
    for text in (b"one", b"two", b"three"):
        assert link.send(text)
    assert read_available(theirs) == b""  # held until the round ends
    end_round()
    assert read_available(theirs) == b"".join(wsio.frame(t) for t in (b"one", b"two", b"three"))


def test_a_long_round_writes_every_max_held_frames():
    link, theirs = make_link()
    frames = [f"m{i}".encode() for i in range(MAX_HELD_FRAMES + 1)]
    for payload in frames:
        link.send(payload)
    written = read_available(theirs)
    assert written == b"".join(wsio.frame(p) for p in frames[:MAX_HELD_FRAMES])
    end_round()
    assert read_available(theirs) == wsio.frame(frames[-1])


def test_close_writes_what_is_held_before_the_close_frame():
    link, theirs = make_link()
    link.send(b"last words")
    link.close(1000, "bye")
    assert not link.send(b"too late")
    end_round()
    data = read_available(theirs)
    assert data == wsio.frame(b"last words") + wsio.close_frame(1000, "bye")
