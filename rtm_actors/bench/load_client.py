"""What every load client shares: who it is, its websocket, its reader greenlet."""

from __future__ import annotations

from typing import Any

import gevent

from rtm_actors.bench.handler import LoadHandler
from rtm_actors.bench.ws import BenchSocketClosedError, WsConn


class LoadClient:
    """A user of the load: ``connect`` (per protocol), ``start`` reading, ``close``.

    The reader hands each batch of messages one ``recv`` brought to ``_dispatch``,
    holding whatever the handlers send meanwhile, and sends it all in one write,
    behind the frames ``_dispatch`` answers (acknowledgements first).
    """

    __slots__ = ("conn", "handler", "me", "pad", "reader", "user_id")

    def __init__(self, me: int, user_id: str, handler: LoadHandler, pad: int = 64) -> None:
        self.me = me
        self.user_id = user_id
        self.handler = handler
        self.pad = pad
        self.conn: WsConn | None = None
        self.reader: gevent.Greenlet[Any, Any] | None = None

    def start(self) -> None:
        """Read and dispatch in a greenlet of this client's own."""
        self.reader = gevent.spawn(self._read_loop)

    def close(self) -> None:
        """Drop the connection and stop reading."""
        if self.conn is not None:
            self.conn.close()
        if self.reader is not None:
            self.reader.kill(block=False)

    def _dispatch(self, batch: list[bytes]) -> list[bytes]:
        """Handle one batch of messages; answer the frames to send before the rest."""
        raise NotImplementedError

    def _read_loop(self) -> None:
        conn = self.conn
        assert conn is not None
        try:
            while True:
                batch = conn.read_batch()
                conn.hold()
                conn.flush(self._dispatch(batch))
        except (BenchSocketClosedError, OSError):
            if not conn.closed:
                self.handler.failed(self, "connection lost")
