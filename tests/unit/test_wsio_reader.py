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


def unmasked(payload: bytes, opcode: int = wsio.OP_TEXT, *, fin: bool = True) -> bytes:
    """A frame without a mask key, as only a server may send."""
    return bytes(((0x80 if fin else 0) | opcode, len(payload))) + payload


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (unmasked(b"hello"), "unmasked"),
        (masked(b"hel", fin=False) + unmasked(b"", wsio.OP_CONTINUATION), "unmasked"),
        (masked(b"p" * 126, wsio.OP_PING), "control frame of 126"),
        (masked(b"p" * 126, wsio.OP_PONG), "control frame of 126"),
        (masked(b"\x03\xe8" + b"r" * 124, wsio.OP_CLOSE), "control frame of 126"),
        (masked(b"p", wsio.OP_PING, fin=False), "fragmented control"),
        (masked(b"x", 0x3), "unexpected opcode 3"),
        (masked(b"x", 0x7), "unexpected opcode 7"),
        (masked(b"x", 0xB), "unexpected opcode 11"),
        (masked(b"x", 0xF), "unexpected opcode 15"),
        (masked(b"x", wsio.OP_CONTINUATION), "unexpected opcode 0"),
        (masked(b"a", fin=False) + masked(b"b"), "new message inside"),
        (bytes((0x80 | 0x10 | wsio.OP_TEXT, 0x80)) + b"\0\0\0\0", "reserved bits"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_frames_rfc_6455_forbids_are_protocol_errors(data: bytes, why: str):
    """Unmasked, oversized or fragmented control, unknown opcode, bad fragment order:
    each is a ProtocolError (the gateway closes it with 1002)."""
    reader, pings = reader_over(data)
    with pytest.raises(ProtocolError, match=why):
        reader.read_batch()
    assert pings == []


def test_a_big_ping_is_refused_at_its_header():
    """A ping announcing more than 125 bytes is refused before its payload comes."""
    reader, _ = reader_over(masked(b"p" * 200_000, wsio.OP_PING)[:14])
    with pytest.raises(ProtocolError):
        reader.read_batch()


def test_a_ping_of_125_bytes_is_answered():
    """The largest control frame RFC 6455 allows goes to on_ping."""
    reader, pings = reader_over(masked(b"p" * 125, wsio.OP_PING) + masked(b"m"))
    assert reader.read_batch() == [b"m"]
    assert pings == [b"p" * 125]


def test_endless_empty_fragments_are_cut_off_at_the_fragment_cap():
    """Empty continuation frames cost no payload bytes, so they are counted: past
    MAX_FRAGMENTS the message is refused as too big."""
    data = masked(b"", fin=False) + masked(b"", wsio.OP_CONTINUATION, fin=False) * (
        wsio.MAX_FRAGMENTS + 10
    )
    reader, _ = reader_over(data)
    with pytest.raises(wsio.FrameTooBigError, match="fragments"):
        reader.read_batch()


def test_a_message_in_many_fragments_under_the_cap_is_joined():
    """A client that fragments finely (MAX_FRAGMENTS pieces) is still served."""
    pieces = [b"%d," % i for i in range(wsio.MAX_FRAGMENTS)]
    data = masked(pieces[0], fin=False)
    data += b"".join(masked(p, wsio.OP_CONTINUATION, fin=False) for p in pieces[1:-1])
    data += masked(pieces[-1], wsio.OP_CONTINUATION)
    reader, _ = reader_over(data)
    assert reader.read_batch() == [b"".join(pieces)]


def test_an_empty_text_message_is_a_message():
    """A text frame of 0 bytes comes out as b"" (the codec refuses it as RTM input)."""
    reader, _ = reader_over(masked(b"") + masked(b"next"))
    assert reader.read_batch() == [b"", b"next"]
