"""A channel's write-only handle on a member's socket: it writes only when that keeps
the member's order."""

from __future__ import annotations

import types

import gevent.socket

from rtm_actors.server import wsio
from rtm_actors.server.link import Link, MemberWriter


def link_pair() -> tuple[Link, gevent.socket.socket]:
    ours, theirs = gevent.socket.socketpair()
    return Link(types.SimpleNamespace(handler=types.SimpleNamespace(socket=ours))), theirs


def test_writes_only_to_a_member_of_the_channel_with_nothing_queued() -> None:
    """No link, another channel, or mail waiting in the session: the frame goes
    through the session (False); otherwise it is on the socket."""
    waiting = [0]
    writer = MemberWriter(lambda: waiting[0])
    frame = wsio.frame(b'{"t":"channel_msg"}')
    assert not writer.write("room", frame)
    link, theirs = link_pair()
    writer.use(link)
    assert not writer.write("room", frame)
    writer.joined("room")
    waiting[0] = 1
    assert not writer.write("room", frame)
    waiting[0] = 0
    assert writer.write("room", frame)
    assert theirs.recv(100) == frame
    writer.left("room")
    assert not writer.write("room", frame)
    writer.use(None)
    writer.joined("room")
    assert not writer.write("room", frame)
