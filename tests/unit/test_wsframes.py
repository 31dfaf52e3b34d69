"""The shared websocket framing: client frames are masked and unmask back; a server's
frames are read in batches, fragments joined, control frames kept apart."""

from __future__ import annotations

import pytest

from rtm_actors.protocol.wsframes import (
    OP_BINARY,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FramingError,
    ServerFrameParser,
    close_frame,
    frame,
    frame_head,
    masked_frame,
    unmask,
)


def fragment(payload: bytes, opcode: int, final: bool) -> bytes:
    head = frame_head(opcode, len(payload))
    return bytes((head[0] & (0xFF if final else 0x7F),)) + head[1:] + payload


def test_a_masked_frame_carries_its_key_and_unmasks_to_the_payload():
    """A client frame sets the mask bit, carries the key, and XORs back to the payload."""
    payload = b"x" * 300
    data = masked_frame(payload, b"\x01\x02\x03\x04")
    assert data[1] == 0x80 | 126
    assert data[4:8] == b"\x01\x02\x03\x04"
    assert unmask(data[8:], b"\x01\x02\x03\x04") == payload


def test_every_whole_message_of_a_batch_comes_out_split_anywhere():
    """Frames split at any byte come out whole, in order, once each."""
    stream = frame(b"one") + frame(b"t" * 200) + frame(b"b" * 70000, OP_BINARY)
    for cut in (1, 2, 3, 5, 150, 70000):
        parser = ServerFrameParser(1 << 20)
        out = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert out == [b"one", b"t" * 200, b"b" * 70000]


def test_fragments_are_joined_and_control_frames_kept_apart():
    """Pings wait to be answered, pongs are dropped, fragments join, a close ends it."""
    parser = ServerFrameParser(1 << 20)
    stream = (
        fragment(b"he", OP_TEXT, final=False)
        + frame(b"p", OP_PING)
        + frame(b"q", OP_PONG)
        + fragment(b"llo", OP_CONTINUATION, final=True)
        + close_frame(3005, "bye")
        + frame(b"after")
    )
    assert parser.feed(stream) == [b"hello"]
    assert parser.pings == [b"p"]
    assert parser.close == (3005, "bye")


@pytest.mark.parametrize(
    "stream",
    [
        fragment(b"a", OP_CONTINUATION, final=True),
        fragment(b"a", OP_TEXT, final=False) + frame(b"b"),
        frame(b"x", 0x3),
        frame(b"y" * 101),
    ],
    ids=["continuation first", "new message inside one", "unknown opcode", "too big"],
)
def test_framing_violations_are_errors(stream):
    """A fragment out of order, an unknown opcode or a message over the limit."""
    with pytest.raises(FramingError):
        ServerFrameParser(100).feed(stream)
