"""The python-socketio baseline: the same jobs, written the way socketio apps write them.

python-socketio on gevent (``async_mode="gevent"``) served by gevent-websocket,
websocket transport only, ``TCP_NODELAY`` on every accepted socket (as our server
and the ceiling do; RUNTIME-NOTES.md shows what Nagle costs socketio otherwise).
Each user joins a room named after its user id when it connects (``auth.user``).

* peer: ``msg [to, n, text]`` -> emitted to room ``to`` with an acknowledgement
  callback; the receiver's acknowledgement -> ``receipt n`` to the sender;
* fanout: ``join room`` (acked), ``chan [room, n, text]`` -> emitted to the room
  minus the sender, then acked to the sender;
* invite: ``invite [callee, n]`` -> ``invited [caller, n]`` to the callee's room;
  ``answer [caller, n]`` -> ``accepted n`` to the caller's room.

Run as a process: ``python -m rtm_actors.bench.sio_server --port 8702``.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Sequence
from typing import Any

from gevent import monkey


def _app() -> Any:
    import socketio  # type: ignore[import-untyped]

    sio = socketio.Server(async_mode="gevent", transports=["websocket"])

    @sio.event  # type: ignore[untyped-decorator]
    def connect(sid: str, _environ: dict[str, Any], auth: dict[str, Any] | None) -> None:
        sio.enter_room(sid, (auth or {}).get("user", sid))

    @sio.on("msg")  # type: ignore[untyped-decorator]
    def msg(sid: str, data: list[Any]) -> None:
        n = data[1]

        def receipt(*_args: Any) -> None:
            sio.emit("receipt", n, to=sid)

        sio.emit("msg", data, to=data[0], callback=receipt)

    @sio.on("join")  # type: ignore[untyped-decorator]
    def join(sid: str, room: str) -> int:
        sio.enter_room(sid, room)
        return 0

    @sio.on("chan")  # type: ignore[untyped-decorator]
    def chan(sid: str, data: list[Any]) -> int:
        sio.emit("chan", data, to=data[0], skip_sid=sid)
        return 0

    @sio.on("invite")  # type: ignore[untyped-decorator]
    def invite(sid: str, data: list[Any]) -> int:
        sio.emit("invited", [data[2], data[1]], to=data[0])
        return 0

    @sio.on("answer")  # type: ignore[untyped-decorator]
    def answer(sid: str, data: list[Any]) -> int:
        sio.emit("accepted", data[1], to=data[0])
        return 0

    return socketio.WSGIApp(sio)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve on 127.0.0.1 until killed."""
    monkey.patch_all()  # noqa: TID251 (a process entry point; engineio expects it)
    from geventwebsocket.handler import WebSocketHandler

    from rtm_actors.bench.loopback import serve_forever

    class NoDelayHandler(WebSocketHandler):  # type: ignore[misc]
        def handle(self) -> Any:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return super().handle()

    parser = argparse.ArgumentParser(description="the benchmark's python-socketio server")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve_forever(_app(), args.port, NoDelayHandler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
