"""The attack suite's fixtures: a server process of its own per test, and a probe pair.

Each attack runs against a real server process (``rtm_actors.testing.process``) so
that its resident memory can be read, while two well-behaved users exchange messages
(``Probe``). A test asserts three things: the attacker is cut off with the documented
close code (or HTTP status), the server's RSS stays within the bound stated in
docs/security.md, and the probe pair lost nothing and kept a normal latency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from rtm_actors.testing.hostile import HostileSocket, Probe
from rtm_actors.testing.process import ServerProcess, server_process

pytestmark = pytest.mark.integration


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """``start_server(**ServerConfig fields) -> ServerProcess``; all stopped after."""
    with ExitStack() as stack:
        yield lambda **config: stack.enter_context(server_process(**config))


@pytest.fixture
def probe() -> Iterator[Callable[[ServerProcess], Probe]]:
    """``probe(target) -> Probe``, started; stopped after the test."""
    probes: list[Probe] = []

    def start(target: ServerProcess) -> Probe:
        made = Probe(target.url, name=f"probe{len(probes)}").start()
        probes.append(made)
        return made

    yield start
    for made in probes:
        made.stop()


@pytest.fixture
def hostile() -> Iterator[Callable[[ServerProcess], HostileSocket]]:
    """``hostile(target) -> HostileSocket``; every one closed after the test."""
    made: list[HostileSocket] = []

    def connect(target: ServerProcess, **kwargs: Any) -> HostileSocket:
        sock = HostileSocket(target.url, **kwargs)
        made.append(sock)
        return sock

    yield connect
    for sock in made:
        sock.close()
