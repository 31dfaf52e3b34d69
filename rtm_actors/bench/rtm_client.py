"""A lean load client that speaks the rtm_actors wire protocol (docs/protocol.md).

The SDK (``RtmService``) runs a few actors per user and costs more per message than
the server does, so a load made of SDK clients would measure the clients. This one
keeps only what the protocol asks of a client: log in, send requests, acknowledge
every numbered push (cumulatively, once per batch read), answer pings. The ceiling
relay speaks the same protocol, so both are driven by the very same client.
"""

from __future__ import annotations

from typing import Any

import msgspec

from rtm_actors.bench.handler import sent_ns_of, stamp
from rtm_actors.bench.load_client import LoadClient
from rtm_actors.bench.ws import BenchSocketClosedError, WsConn

APP_ID = "bench"
PATH = "/rtm"

_decode = msgspec.json.decode
_PING = b'{"t":"ping","ts":0}'


class RtmLoadClient(LoadClient):
    """One user on our protocol: ``connect`` logs in, ``start`` reads in a greenlet."""

    __slots__ = ()

    def connect(self, host: str, port: int) -> None:
        """Open the websocket and log in; return once ``login_ok`` is in."""
        conn = WsConn.connect(host, port, PATH)
        conn.send(
            b'{"t":"login","rid":0,"app_id":"%s","user_id":"%s","token":""}'
            % (APP_ID.encode(), self.user_id.encode())
        )
        while True:
            for data in conn.read_batch():
                frame = _decode(data)
                if frame["t"] == "login_ok":
                    self.conn = conn  # (only now: ``heartbeat`` pings a logged-in link)
                    return
                conn.close()
                msg = f"login refused: {frame}"
                raise BenchSocketClosedError(msg)

    def heartbeat(self) -> None:
        """The protocol-level ping the server expects every ``heartbeat_s``."""
        if self.conn is not None and not self.conn.closed:
            self.conn.send(_PING)

    def send_peer(self, peer_id: str, n: int, sent_ns: int) -> None:
        """Send peer message ``n`` to ``peer_id`` (``rid`` = message id = ``n``; other
        requests use negative ``rid``s, so a reply with ``rid >= 0`` is a receipt)."""
        assert self.conn is not None
        self.conn.send(
            b'{"t":"send_peer","rid":%d,"peer_id":"%s","message":{"id":%d,"kind":1,"text":"%s"}}'
            % (n, peer_id.encode(), n, stamp(sent_ns, self.pad).encode())
        )

    def join(self, channel_id: str) -> None:
        """Join ``channel_id``; return at ``join_reply`` (call before ``start``)."""
        conn = self.conn
        assert conn is not None
        conn.send(b'{"t":"join","rid":-1,"channel_id":"%s"}' % channel_id.encode())
        while True:
            acked = 0
            for data in conn.read_batch():
                frame = _decode(data)
                if frame["t"] == "join_reply":
                    if frame["code"]:
                        msg = f"join refused: {frame}"
                        raise BenchSocketClosedError(msg)
                    channel_id = ""
                elif "seq" in frame:
                    acked = frame["seq"]
            if acked:
                conn.send(b'{"t":"ack","seq":%d}' % acked)
            if not channel_id:
                return

    def send_channel(self, channel_id: str, n: int, sent_ns: int) -> None:
        """Send channel message ``n`` to ``channel_id``."""
        assert self.conn is not None
        self.conn.send(
            b'{"t":"send_channel","rid":-1,"channel_id":"%s","message":'
            b'{"id":%d,"kind":1,"text":"%s"}}'
            % (channel_id.encode(), n, stamp(sent_ns, self.pad).encode())
        )

    def invite(self, callee_id: str, n: int) -> None:
        """Call ``callee_id`` (invitation id ``n``); the callee's client accepts it."""
        assert self.conn is not None
        self.conn.send(
            b'{"t":"invite","rid":-3,"invitation_id":%d,"callee_id":"%s"}' % (n, callee_id.encode())
        )

    def _dispatch(self, batch: list[bytes]) -> list[bytes]:
        handler = self.handler
        me = self.me
        acked = 0
        out: list[bytes] = []
        for data in batch:
            frame = _decode(data)
            t = frame["t"]
            if t == "peer_msg":
                msg = frame["message"]
                handler.peer_received(me, msg["id"], sent_ns_of(msg["text"]))
                acked = frame["seq"]
            elif t == "reply":
                if frame["rid"] >= 0:
                    # Only send_peer uses rid >= 0 (its message number).
                    handler.receipt(self, frame["rid"], frame["code"] == 0)
                elif frame["code"]:
                    handler.failed(self, f"reply code {frame['code']}")
            elif t == "channel_msg":
                msg = frame["message"]
                handler.channel_received(me, msg["id"], sent_ns_of(msg["text"]))
            elif t == "invitation":
                acked = frame["seq"]
                self._on_invitation(frame, out)
            elif "seq" in frame:
                acked = frame["seq"]
            elif t in ("error", "kick"):
                handler.failed(self, f"{t}: {frame}")
        if acked:
            # The acknowledgement first: an answer needs its invitation delivered.
            out.insert(0, b'{"t":"ack","seq":%d}' % acked)
        return out

    def _on_invitation(self, frame: dict[str, Any], out: list[bytes]) -> None:
        event = frame["event"]
        if frame["role"] == "callee" and event == "received":
            out.append(
                b'{"t":"answer_invite","rid":-2,"caller_id":"%s","invitation_id":%d,"accept":true}'
                % (frame["caller_id"].encode(), frame["invitation_id"])
            )
        elif frame["role"] == "caller" and event == "accepted":
            self.handler.invitation_accepted(self, frame["invitation_id"])
        elif event in ("failed", "refused", "canceled"):
            self.handler.failed(self, f"invitation {event}")
