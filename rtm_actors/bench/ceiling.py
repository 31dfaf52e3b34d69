"""The ceiling: a minimal relay on the same stack as our server, speaking our protocol.

A gevent-websocket server with our handshake handler and fast frame IO
(``server.wsio``: the same transport our server runs on) and msgspec JSON,
and nothing else: no actors, no checks, no rate limits, no storage, no sessions that
outlive a socket. It does the frame-level work our protocol asks for each workload:

* peer: ``send_peer`` -> a numbered ``peer_msg`` to the target; the target's ``ack``
  -> the ``reply`` (the delivery receipt) back to the sender;
* fanout: ``send_channel`` -> one encoded ``channel_msg`` to every other member,
  ``reply`` to the sender;
* invite: ``invite`` -> ``reply`` + ``invitation(received)`` to the callee; its ack
  -> ``received_by_peer`` to the caller; ``answer_invite`` -> ``reply`` +
  ``accepted`` to the caller; its ack -> ``accepted`` to the callee;
* ``login`` -> ``login_ok``, ``ping`` -> ``pong``, ``join`` -> ``join_reply``.

So the ratio of our server to this one is what our runtime costs on top of the
transport. Run as a process: ``python -m rtm_actors.bench.ceiling --port 8701``.
``--drop-every N`` silently drops every Nth peer message: the benchmark's own tests
use it to show that a loss is reported.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from geventwebsocket.exceptions import ProtocolError

from rtm_actors.bench.loopback import serve_forever
from rtm_actors.server import wsio

_decode = msgspec.json.decode
_encode = msgspec.json.encode


class Conn:
    """One logged-in websocket: numbered pushes wait here for their ``ack``."""

    __slots__ = ("backlog", "pending", "raw", "seq", "sock", "user_id", "writing")

    def __init__(self, sock: Any, user_id: str) -> None:
        self.sock = sock
        self.raw = wsio.raw_socket(sock)
        self.user_id = user_id
        self.seq = 0
        #: (seq, what to do when acknowledged), in seq order.
        self.pending: collections.deque[tuple[int, Callable[[], None] | None]] = collections.deque()
        self.writing = False
        self.backlog: list[bytes] = []

    def write(self, payload: bytes) -> None:
        """Send one text frame."""
        self.write_frame(wsio.frame(payload))

    def write_frame(self, data: bytes) -> None:
        """Send a built frame; a write that would interleave with a blocked one waits."""
        if self.writing:
            self.backlog.append(data)
            return
        self.writing = True
        try:
            wsio.send_all(self.sock, self.raw, data, 30.0)
            while self.backlog:
                data = b"".join(self.backlog)
                self.backlog.clear()
                wsio.send_all(self.sock, self.raw, data, 30.0)
        except (OSError, wsio.SlowConsumerError):
            self.backlog.clear()
        finally:
            self.writing = False

    def push(self, frame: dict[str, Any], on_ack: Callable[[], None] | None = None) -> None:
        """Send a numbered push; ``on_ack`` runs when the client acknowledges it."""
        self.seq += 1
        frame["seq"] = self.seq
        self.pending.append((self.seq, on_ack))
        self.write(_encode(frame))

    def ack(self, seq: int) -> None:
        """Release every push up to ``seq``."""
        pending = self.pending
        while pending and pending[0][0] <= seq:
            on_ack = pending.popleft()[1]
            if on_ack is not None:
                on_ack()


class Relay:
    """The WSGI app: users by id, channels by id, nothing more."""

    def __init__(self, drop_every: int = 0) -> None:
        self.users: dict[str, Conn] = {}
        self.channels: dict[str, list[Conn]] = collections.defaultdict(list)
        self.drop_every = drop_every
        self._peer_count = itertools.count(1)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        ws = environ.get("wsgi.websocket")
        if ws is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"websocket only\n"]
        wsio.set_nodelay(ws)
        conn: Conn | None = None
        reader = wsio.FrameReader(ws, 1 << 20, _ignore)
        try:
            while True:
                for data in reader.read_batch():
                    frame = _decode(data)
                    if conn is None:
                        conn = self._login(ws, frame)
                    else:
                        self._on_frame(conn, frame)
        except (wsio.PeerClosedError, ProtocolError, OSError, msgspec.DecodeError):
            pass
        finally:
            if conn is not None and self.users.get(conn.user_id) is conn:
                del self.users[conn.user_id]
            ws.closed = True
        return []

    def _login(self, ws: Any, frame: dict[str, Any]) -> Conn:
        conn = Conn(ws.handler.socket, frame["user_id"])
        self.users[conn.user_id] = conn
        conn.write(
            _encode(
                {
                    "t": "login_ok",
                    "rid": frame["rid"],
                    "session": secrets.token_urlsafe(16),
                    "server_ts": _now_ms(),
                    "resumed": False,
                    "heartbeat_s": 2.0,
                }
            )
        )
        return conn

    def _on_frame(self, conn: Conn, frame: dict[str, Any]) -> None:
        t = frame["t"]
        if t == "send_peer":
            self._send_peer(conn, frame)
        elif t == "ack":
            conn.ack(frame["seq"])
        elif t == "send_channel":
            self._send_channel(conn, frame)
        elif t == "ping":
            conn.write(_encode({"t": "pong", "ts": frame.get("ts", 0.0)}))
        elif t == "join":
            members = self.channels[frame["channel_id"]]
            members.append(conn)
            conn.write(
                _encode(
                    {
                        "t": "join_reply",
                        "rid": frame["rid"],
                        "code": 0,
                        "channel_id": frame["channel_id"],
                        "epoch": "00000000",
                        "member_count": len(members),
                    }
                )
            )
        elif t == "invite":
            self._invite(conn, frame)
        elif t == "answer_invite":
            self._answer(conn, frame)

    def _send_peer(self, conn: Conn, frame: dict[str, Any]) -> None:
        ts = _now_ms()
        rid = frame["rid"]
        target = self.users.get(frame["peer_id"])
        if target is None:
            conn.write(_encode({"t": "reply", "rid": rid, "code": 3, "ts": ts}))
            return
        if self.drop_every and next(self._peer_count) % self.drop_every == 0:
            return
        receipt = _encode({"t": "reply", "rid": rid, "code": 0, "ts": ts})
        push = {
            "t": "peer_msg",
            "peer_id": conn.user_id,
            "message": frame["message"],
            "ts": ts,
            "offline": False,
        }
        target.push(push, lambda: conn.write(receipt))

    def _send_channel(self, conn: Conn, frame: dict[str, Any]) -> None:
        ts = _now_ms()
        channel_id = frame["channel_id"]
        data = wsio.frame(
            _encode(
                {
                    "t": "channel_msg",
                    "channel_id": channel_id,
                    "epoch": "00000000",
                    "cseq": 0,
                    "peer_id": conn.user_id,
                    "message": frame["message"],
                    "ts": ts,
                }
            )
        )
        conn.write(_encode({"t": "reply", "rid": frame["rid"], "code": 0, "ts": ts}))
        for member in self.channels.get(channel_id, ()):
            if member is not conn:
                member.write_frame(data)

    def _invite(self, caller: Conn, frame: dict[str, Any]) -> None:
        caller.write(_encode({"t": "reply", "rid": frame["rid"], "code": 0, "ts": 0}))
        callee = self.users.get(frame["callee_id"])
        if callee is None:
            return
        event = _invitation(caller.user_id, callee.user_id, frame["invitation_id"])
        callee.push(
            {**event, "role": "callee", "event": "received"},
            lambda: caller.push({**event, "role": "caller", "event": "received_by_peer"}),
        )

    def _answer(self, callee: Conn, frame: dict[str, Any]) -> None:
        callee.write(_encode({"t": "reply", "rid": frame["rid"], "code": 0, "ts": 0}))
        caller = self.users.get(frame["caller_id"])
        if caller is None:
            return
        event = _invitation(caller.user_id, callee.user_id, frame["invitation_id"])
        caller.push(
            {**event, "role": "caller", "event": "accepted"},
            lambda: callee.push({**event, "role": "callee", "event": "accepted"}),
        )


def _invitation(caller_id: str, callee_id: str, invitation_id: int) -> dict[str, Any]:
    return {
        "t": "invitation",
        "invitation_id": invitation_id,
        "caller_id": caller_id,
        "callee_id": callee_id,
        "content": "",
        "channel_id": "",
        "response": "",
        "code": 0,
    }


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ignore(_payload: bytes) -> None:
    """Websocket pings go unanswered (the load clients send none)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the relay on 127.0.0.1 until killed."""
    parser = argparse.ArgumentParser(description="the benchmark's ceiling relay")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--drop-every", type=int, default=0)
    args = parser.parse_args(argv)
    serve_forever(Relay(args.drop_every), args.port, wsio.LeanWebSocketHandler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
