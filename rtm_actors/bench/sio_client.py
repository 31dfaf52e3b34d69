"""A lean load client that speaks the socket.io 5 / engine.io 4 wire format.

Raw text frames on the same ``WsConn`` as our protocol's client, so both cost the
load side the same: ``0{...}`` (engine.io open) -> ``40{"user":...}`` (connect the
namespace) -> ``40{"sid":...}``; events are ``42[name, data]``, with an
acknowledgement id ``42<id>[...]`` answered by ``43<id>[...]``; the server's
engine.io ping ``2`` is answered with ``3``. See ``sio_server`` for the jobs.
"""

from __future__ import annotations

import json

import msgspec

from rtm_actors.bench.handler import LoadHandler, sent_ns_of, stamp
from rtm_actors.bench.load_client import LoadClient
from rtm_actors.bench.ws import BenchSocketClosedError, WsConn

PATH = "/socket.io/?EIO=4&transport=websocket"

_decode = msgspec.json.decode


class SioLoadClient(LoadClient):
    """One user on socket.io: ``connect`` joins the namespace, ``start`` reads."""

    __slots__ = ("_acks",)

    def __init__(self, me: int, user_id: str, handler: LoadHandler, pad: int = 64) -> None:
        super().__init__(me, user_id, handler, pad)
        self._acks = 0

    def connect(self, host: str, port: int) -> None:
        """Open the websocket and connect the default namespace."""
        conn = WsConn.connect(host, port, PATH)
        self.conn = conn
        opened = False
        while True:
            for data in conn.read_batch():
                if data[:1] == b"0" and not opened:
                    opened = True
                    conn.send(b"40" + json.dumps({"user": self.user_id}).encode())
                elif data[:2] == b"40":
                    return
                elif data[:2] == b"44":
                    raise BenchSocketClosedError(data.decode(errors="replace"))

    def heartbeat(self) -> None:
        """Nothing: on socket.io the server pings and ``_read_loop`` answers."""

    def send_peer(self, peer_id: str, n: int, sent_ns: int) -> None:
        """``msg [to, n, text]``; the receipt comes back as a ``receipt`` event."""
        assert self.conn is not None
        self.conn.send(
            b'42["msg",["%s",%d,"%s"]]' % (peer_id.encode(), n, stamp(sent_ns, self.pad).encode())
        )

    def join(self, channel_id: str) -> None:
        """Join the room ``channel_id``; return at its acknowledgement (before ``start``)."""
        conn = self.conn
        assert conn is not None
        self._acks += 1
        ack = b"43%d[" % self._acks
        conn.send(b'42%d["join","%s"]' % (self._acks, channel_id.encode()))
        while True:
            for data in conn.read_batch():
                if data.startswith(ack):
                    return
                if data == b"2":
                    conn.send(b"3")

    def send_channel(self, channel_id: str, n: int, sent_ns: int) -> None:
        """``chan [room, n, text]``, acknowledged once the server has emitted it."""
        assert self.conn is not None
        self._acks += 1
        self.conn.send(
            b'42%d["chan",["%s",%d,"%s"]]'
            % (self._acks, channel_id.encode(), n, stamp(sent_ns, self.pad).encode())
        )

    def invite(self, callee_id: str, n: int) -> None:
        """``invite [callee, n, caller]``; the callee's client answers at once."""
        assert self.conn is not None
        self._acks += 1
        self.conn.send(
            b'42%d["invite",["%s",%d,"%s"]]'
            % (self._acks, callee_id.encode(), n, self.user_id.encode())
        )

    def _dispatch(self, batch: list[bytes]) -> list[bytes]:
        handler = self.handler
        me = self.me
        out: list[bytes] = []
        for data in batch:
            if data == b"2":
                out.append(b"3")
                continue
            if data[:2] != b"42":
                continue  # acknowledgements (43...) and the rest
            body = data[2:]
            bracket = body.index(b"[")
            name, arg = _decode(body[bracket:])
            if bracket:
                out.append(b"43" + body[:bracket] + b"[]")
            if name == "msg":
                handler.peer_received(me, arg[1], sent_ns_of(arg[2]))
            elif name == "receipt":
                handler.receipt(self, arg, True)
            elif name == "chan":
                handler.channel_received(me, arg[1], sent_ns_of(arg[2]))
            elif name == "invited":
                out.append(b'42["answer",["%s",%d]]' % (arg[0].encode(), arg[1]))
            elif name == "accepted":
                handler.invitation_accepted(self, arg)
        return out
