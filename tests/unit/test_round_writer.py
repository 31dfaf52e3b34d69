"""A round writer on a real socket pair: a round's frames go out in one write when it
ends, in order, what the socket cannot take goes later in order, and a writer past its
byte bound fails."""

from __future__ import annotations

import gevent
import gevent.socket

from rtm_actors.client.link import MaskKeys
from rtm_actors.runtime.round_writer import RoundWriter
from rtm_actors.testing import end_round, wait_until
from tests.unit.test_link_writes import read_available


def test_a_rounds_writes_go_out_when_it_ends_in_order():
    """Nothing is written before the round ends; then all of it, in order."""
    ours, theirs = gevent.socket.socketpair()
    writer = RoundWriter(ours, lambda _stalled: None)
    for data in (b"one", b"two", b"three"):
        assert writer.write(data)
    assert read_available(theirs) == b""
    end_round()
    assert read_available(theirs) == b"onetwothree"
    assert writer.idle


def test_what_the_socket_cannot_take_follows_in_order():
    """Megabytes more than the socket buffers arrive whole and in order."""
    ours, theirs = gevent.socket.socketpair()
    writer = RoundWriter(ours, lambda _stalled: None)
    chunks = [bytes([i]) * 100_000 for i in range(40)]
    for chunk in chunks:
        writer.write(chunk)
    got = bytearray()

    def all_in() -> bool:
        got.extend(read_available(theirs))  # (reading makes room for the flusher)
        return len(got) >= 4_000_000

    wait_until(all_in, timeout=10, what="4 MB through the socket")
    assert got == b"".join(chunks)


def test_a_writer_past_its_byte_bound_fails_and_says_so():
    """The other side stopped reading: past the bound the writer fails once."""
    ours, _theirs = gevent.socket.socketpair()
    failures = []
    writer = RoundWriter(ours, failures.append, max_pending_bytes=1 << 20)
    while writer.write(b"z" * 65536):
        end_round()
    assert writer.failed
    assert failures == [True]  # stalled, not broken
    assert not writer.write(b"more")


def test_mask_keys_are_four_bytes_and_come_from_a_pooled_read():
    """Keys are 4 bytes, differ, and a pool of N gives N keys before it reads again."""
    keys = MaskKeys(keys=8)
    got = [keys.next() for _ in range(16)]
    assert all(len(k) == 4 for k in got)
    assert len(set(got)) > 8


def test_an_owner_holding_its_writer_is_freed_by_reference_counting():
    """The writer calls a method of its owner back weakly: no cycle to collect."""
    import weakref

    class Owner:
        def __init__(self, sock) -> None:
            self.writer = RoundWriter(sock, self.failed)

        def failed(self, stalled: bool) -> None:
            pass

    ours, _theirs = gevent.socket.socketpair()
    owner = Owner(ours)
    alive = weakref.ref(owner)
    del owner
    assert alive() is None
