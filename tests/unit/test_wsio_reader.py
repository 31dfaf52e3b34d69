"""``wsio.FrameReader``: whole messages out of a buffered stream, in batches."""

from __future__ import annotations

import io
import struct
from types import SimpleNamespace

import pytest
from geventwebsocket.exceptions import ProtocolError

from rtm_actors.server import wsio


def masked(payload: bytes, opcode: int = wsio.OP_TEXT, *, fin: bool = True) -> bytes:
    """A client frame, masked as clients must."""
    key = b"\x11\x22\x33\x44"
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def reader_over(data: bytes, chunk: int = 1 << 16, max_bytes: int = 1 << 20):
    """A reader over ``data``, which the stream hands out ``chunk`` bytes at a time."""

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), chunk, len(self.data))
            buffer[:n] = self.data[:n]
            self.data = self.data[n:]
            return n

    pings: list[bytes] = []
    stream = io.BufferedReader(Trickle())
    # After its first read the reader reads the socket; here both are the stream.
    ws = SimpleNamespace(
        handler=SimpleNamespace(rfile=stream, socket=SimpleNamespace(recv=stream.read1))
    )
    return wsio.FrameReader(ws, max_bytes, pings.append), pings


def test_every_message_of_one_read_comes_in_one_batch():
    """Three frames in one read are one batch of three messages, in order."""
    reader, _ = reader_over(masked(b"one") + masked(b"two") + masked(b"x" * 300))
    assert reader.read_batch() == [b"one", b"two", b"x" * 300]
    with pytest.raises(wsio.PeerClosedError):
        reader.read_batch()


def test_frames_split_anywhere_are_put_back_together():
    """A stream that hands out 3 bytes at a time still yields whole messages."""
    data = masked(b"hello") + masked(b"y" * 70000, wsio.OP_BINARY)
    reader, _ = reader_over(data, chunk=3)
    got: list[bytes] = []
    while len(got) < 2:
        got += reader.read_batch()
    assert got == [b"hello", b"y" * 70000]


def test_fragments_join_and_pings_go_aside():
    """A fragmented message with a ping between its fragments: one message, one ping."""
    data = (
        masked(b"hel", fin=False)
        + masked(b"p!", wsio.OP_PING)
        + masked(b"lo", wsio.OP_CONTINUATION)
        + masked(b"", wsio.OP_PONG)
    )
    reader, pings = reader_over(data)
    assert reader.read_batch() == [b"hello"]
    assert pings == [b"p!"]


def test_too_big_is_refused_at_the_header():
    """A frame over the limit is refused before its payload arrives."""
    header_only = masked(b"z" * 2000)[:8]
    reader, _ = reader_over(header_only, max_bytes=1000)
    with pytest.raises(wsio.FrameTooBigError):
        reader.read_batch()


def test_an_error_after_good_messages_waits_for_the_next_call():
    """The messages before a bad frame are delivered; the error comes next."""
    bad = bytes((0x80 | 0x40 | wsio.OP_TEXT, 0x80)) + b"\0\0\0\0"  # RSV1 set
    reader, _ = reader_over(masked(b"fine") + bad + masked(b"never"))
    assert reader.read_batch() == [b"fine"]
    with pytest.raises(ProtocolError):
        reader.read_batch()


def test_a_close_frame_ends_the_stream():
    """A close frame reads as the peer closing."""
    reader, _ = reader_over(masked(b"\x03\xe8", wsio.OP_CLOSE))
    with pytest.raises(wsio.PeerClosedError):
        reader.read_batch()
