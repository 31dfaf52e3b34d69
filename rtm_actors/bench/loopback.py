"""Serve a benchmark's WSGI app on 127.0.0.1 until killed (the ceiling and socket.io)."""

from __future__ import annotations

from typing import Any


def serve_forever(app: Any, port: int, handler_class: Any) -> None:
    """A gevent WSGI server with the backlog of a login storm and no access log.

    gevent.pywsgi is imported here, not at the top: the socket.io server monkey-patches
    before anything imports gevent's server.
    """
    from gevent.pywsgi import WSGIServer

    server = WSGIServer(
        ("127.0.0.1", port), app, handler_class=handler_class, log=None, backlog=2048
    )
    server.serve_forever()
