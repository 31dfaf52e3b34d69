"""Operator HTTP endpoints beside the websocket: ``/metrics``, ``/healthz``, ``/readyz``.

``/healthz`` answers 200 while the node's hub and supervisor run (a liveness probe),
``/readyz`` 200 once the node serves and until ``stop()`` begins (a readiness
probe: a load balancer stops sending new clients when it turns 503; lines after
``ready`` warn of what the node cannot promise, such as a Redis that would lose
offline messages in a restart), and
``/metrics`` the Prometheus text format of the node's own registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.registry import CollectorRegistry

from rtm_actors.server.prometheus import render

PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


class OpsApp:
    """A tiny WSGI app for probes and scrapes (GET only)."""

    paths = PATHS

    def __init__(
        self,
        registry: CollectorRegistry | None,
        healthy: Callable[[], bool],
        ready: Callable[[], bool],
        warnings: Callable[[], list[str]] | None = None,
    ) -> None:
        self._registry = registry
        self._healthy = healthy
        self._ready = ready
        self._warnings = warnings or list

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            return _answer(start_response, "405 Method Not Allowed", b"GET only\n")
        if path == "/healthz":
            if self._healthy():
                return _answer(start_response, "200 OK", b"ok\n")
            return _answer(start_response, "503 Service Unavailable", b"not running\n")
        if path == "/readyz":
            if self._ready():
                lines = ["ready", *(f"warning: {w}" for w in self._warnings())]
                return _answer(start_response, "200 OK", "\n".join([*lines, ""]).encode())
            return _answer(start_response, "503 Service Unavailable", b"not ready\n")
        if self._registry is None:
            return _answer(start_response, "404 Not Found", b"metrics are off\n")
        body, content_type = render(self._registry, environ.get("HTTP_ACCEPT", ""))
        return _answer(start_response, "200 OK", body, content_type)


def _answer(
    start_response: Callable[..., Any],
    status: str,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]
