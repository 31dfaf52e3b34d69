"""A plain HTTP GET for tests, on a gevent socket: a server in the same process (sharing
the hub) can answer it."""

from __future__ import annotations

import gevent.socket


def http_get(
    port: int, path: str, host: str = "127.0.0.1", timeout: float = 5.0
) -> tuple[int, str]:
    """GET ``path`` from ``host:port``: (status, body)."""
    with gevent.socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()
