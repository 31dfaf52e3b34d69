"""redis-py on gevent sockets, without monkey patching.

redis-py's ``Connection`` opens a stdlib socket, and a blocking read on one stops the
whole hub. ``GeventConnection`` opens a ``gevent.socket`` instead, so a command waits
only in the calling greenlet; everything else in redis-py (parsers, pipelines, pub/sub)
reads and writes through that socket unchanged. redis-py's own retries sleep with
``time.sleep`` (which would block the hub), so they are switched off: callers retry
with ``gevent.sleep`` backoff (``rtm_actors.server.cluster``).

Measured here (docs/cluster.md): one SET round trip ~120 us on this connection vs
~180-190 us through a gevent thread pool, and 13k/s vs 5k/s with 16 greenlets
sharing the client (the pool serialises on the GIL and the hand-off); a stdlib
socket stalled the hub for ~200 ms in the same test.
"""

from __future__ import annotations

import socket
from typing import Any

import gevent.socket
import redis
from redis.backoff import NoBackoff
from redis.connection import Connection, ConnectionPool, parse_url
from redis.retry import Retry


class GeventConnection(Connection):
    """A redis-py TCP connection on a cooperative gevent socket."""

    def _connect(self) -> Any:
        sock = gevent.socket.create_connection(
            (self.host, self.port), timeout=self.socket_connect_timeout
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.socket_keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.settimeout(self.socket_timeout)
        return sock


def gevent_redis(
    url: str,
    *,
    socket_timeout: float | None = 5.0,
    connect_timeout: float = 2.0,
    max_connections: int = 64,
) -> redis.Redis:
    """A client for ``redis://host:port/db`` whose commands yield instead of blocking.

    ``socket_timeout`` bounds every reply (``None`` for pub/sub readers that wait).
    """
    kwargs: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    pool = ConnectionPool(
        connection_class=GeventConnection,
        host=kwargs.get("host", "127.0.0.1"),
        port=kwargs.get("port", 6379),
        db=int(kwargs.get("db", 0)),
        username=kwargs.get("username"),
        password=kwargs.get("password"),
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
        max_connections=max_connections,
        protocol=2,
    )
    return redis.Redis(connection_pool=pool)
