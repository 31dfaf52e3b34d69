"""Servers on an ephemeral loopback port, with timings short enough for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from rtm_actors.client.config import ClientConfig
from rtm_actors.protocol.connection import Timings
from rtm_actors.server import RtmServer, ServerConfig


def fast_server_config(**overrides: Any) -> ServerConfig:
    """Server timings in fractions of a second (grace 1 s, idle 2 s)."""
    base = ServerConfig(
        grace_period=1.0,
        idle_timeout=2.0,
        login_timeout=2.0,
        heartbeat_interval=0.5,
        node_heartbeat=0.2,
        node_expiry=1.0,
    )
    return replace(base, **overrides)


def fast_client_config(**overrides: Any) -> ClientConfig:
    """Client timings in fractions of a second (login 3 s, reconnect from 50 ms).

    Keyword overrides may name ``ClientConfig`` fields or ``Timings`` fields.
    """
    timing_names = set(Timings.__dataclass_fields__)
    timings = Timings(
        login_timeout=3.0,
        interrupt_after=0.5,
        attempt_timeout=1.0,
        backoff_min=0.05,
        backoff_max=0.3,
        heartbeat_interval=0.5,
        heartbeat_timeout=2.0,
        logout_wait=2.0,
    )
    timings = replace(timings, **{k: v for k, v in overrides.items() if k in timing_names})
    rest = {k: v for k, v in overrides.items() if k not in timing_names}
    return replace(ClientConfig(timings=timings, peer_message_timeout=5.0), **rest)


@contextmanager
def running_server(
    store: Any = "memory",
    port: int = 0,
    server_options: dict[str, Any] | None = None,
    **config: Any,
) -> Iterator[RtmServer]:
    """An ``RtmServer`` on 127.0.0.1 (an ephemeral port by default), stopped after.

    ``server_options`` go to ``RtmServer`` (TLS files, admin token, certificates); the
    other keywords are ``ServerConfig`` fields.
    """
    server = RtmServer(
        host="127.0.0.1",
        port=port,
        store=store,
        config=fast_server_config(**config),
        **(server_options or {}),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop(timeout=2.0)
