"""RFC 6455 frames as bytes: build them, and read the ones a server sends (sans-IO).

Shared by the server's reader (``server/wsio.py``) and the client's link
(``client/link.py``), which both frame for themselves: a general-purpose websocket
library costs ~5 us to send and ~6 us to receive a small frame, these ~1 us.
"""

from __future__ import annotations

import struct
from typing import Final

OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

#: RFC 6455's close code for a framing violation (ours, 3000-3999, are RTM-level).
CLOSE_PROTOCOL_ERROR: Final = 1002
#: RFC 6455 7.4.1: a close frame that carried no status code.
CLOSE_NO_STATUS: Final = 1005
#: RFC 6455 5.5: a control frame's payload is at most this many bytes.
MAX_CONTROL_PAYLOAD: Final = 125
#: Fragments in one message. Browsers and common client libraries send a message in
#: one frame, and those that fragment cut at 4 KB or more (64 pieces of 256 KiB);
#: without a cap an attacker's empty fragments (2 bytes each) grow a list forever.
MAX_FRAGMENTS: Final = 1024


class FramingError(Exception):
    """The other side broke RFC 6455 (an unknown opcode, a fragment out of order, a
    message over the size limit)."""


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR ``payload`` with the repeating 4-byte ``mask``, as one integer operation."""
    n = len(payload)
    if not n:
        return payload
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def frame_head(opcode: int, n: int, mask_bit: int = 0) -> bytes:
    """The header of a final frame of ``n`` payload bytes (``mask_bit`` 0x80: masked)."""
    first = 0x80 | opcode
    if n < 126:
        return bytes((first, mask_bit | n))
    if n < 65536:
        return struct.pack("!BBH", first, mask_bit | 126, n)
    return struct.pack("!BBQ", first, mask_bit | 127, n)


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """A complete, unmasked, final frame (server to client)."""
    return frame_head(opcode, len(payload)) + payload


def masked_frame(payload: bytes, mask: bytes, opcode: int = OP_TEXT) -> bytes:
    """A complete, final frame masked with the 4-byte ``mask`` (client to server)."""
    return frame_head(opcode, len(payload), 0x80) + mask + unmask(payload, mask)


def close_payload(code: int, reason: str = "") -> bytes:
    """A close frame's payload: a status code and a short reason (at most 123 bytes)."""
    return struct.pack("!H", code) + reason.encode("utf-8")[:123]


def close_frame(code: int, reason: str = "") -> bytes:
    """An unmasked close frame with a status code and a short reason."""
    return frame(close_payload(code, reason), OP_CLOSE)


def payload_span(buf: bytearray, pos: int, end: int) -> tuple[int, int]:
    """For the frame at ``buf[pos]``: where its length field ends (its mask key, if
    masked, else its payload starts there) and its payload length; a start of -1 when
    the header is not all in yet."""
    length = buf[pos + 1] & 0x7F
    if length == 126:
        if end - pos < 4:
            return -1, 0
        return pos + 4, (buf[pos + 2] << 8) | buf[pos + 3]
    if length == 127:
        if end - pos < 10:
            return -1, 0
        return pos + 10, int.from_bytes(buf[pos + 2 : pos + 10], "big")
    return pos + 2, length


class ServerFrameParser:
    """Reads what a server sends: unmasked frames, parsed in batches.

    ``feed`` takes whatever the socket gave and answers every whole message it
    completes (fragments joined). Pings wait in ``pings`` for the caller to answer;
    pongs are dropped; a close frame sets ``close`` to its (code, reason), after which
    nothing more is read.
    """

    __slots__ = ("_buf", "_opcode", "_parts", "_size", "close", "max_bytes", "pings")

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self.pings: list[bytes] = []
        self.close: tuple[int, str] | None = None
        #: A fragmented message in progress: its opcode, parts and size so far.
        self._opcode: int | None = None
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; answer the messages it completes. Raises ``FramingError``."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        end = len(buf)
        pos = 0
        try:
            while end - pos >= 2 and self.close is None:
                start, length = payload_span(buf, pos, end)
                if start < 0:
                    break
                if self._size + length > self.max_bytes:
                    raise FramingError(f"message of over {self.max_bytes} bytes")
                stop = start + length
                if stop > end:
                    break
                b0 = buf[pos]
                payload = bytes(buf[start:stop])
                pos = stop
                if b0 == 0x80 | OP_TEXT and self._opcode is None:
                    out.append(payload)  # the usual case: one whole text frame
                else:
                    self._frame(b0, payload, out)
        finally:
            del buf[:pos]
        return out

    def _frame(self, b0: int, payload: bytes, out: list[bytes]) -> None:
        op = b0 & 0x0F
        if op == OP_PING:
            self.pings.append(payload)
        elif op == OP_PONG:
            return
        elif op == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else CLOSE_NO_STATUS
            self.close = (code, payload[2:].decode("utf-8", "replace"))
        elif op in (OP_TEXT, OP_BINARY) and self._opcode is None:
            if b0 & 0x80:
                out.append(payload)
            else:
                self._opcode = op
                self._add_part(payload)
        elif op == OP_CONTINUATION and self._opcode is not None:
            self._add_part(payload)
            if b0 & 0x80:
                out.append(b"".join(self._parts))
                self._opcode = None
                self._parts = []
                self._size = 0
        else:
            raise FramingError(f"unexpected opcode {op}")

    def _add_part(self, payload: bytes) -> None:
        self._parts.append(payload)
        self._size += len(payload)
        if len(self._parts) > MAX_FRAGMENTS:
            raise FramingError(f"more than {MAX_FRAGMENTS} fragments")
