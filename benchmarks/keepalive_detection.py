"""How long a dead network goes unnoticed, at the default keepalive timeouts, on real
sockets: the link runs through a proxy that goes silent (``CuttableProxy.go_silent``:
packets vanish, nothing is ACKed, no RST), the heartbeat set far too slow to notice.

    python benchmarks/keepalive_detection.py --trials 3

client: seconds from the silence to the SDK's link ending (its keepalive, 6 s);
server: seconds from the silence to a subscriber seeing the user UNREACHABLE (the
server's keepalive, 10 s). A link is quiet before the silence, so the last packet
arrived 0-3 s (client) or 0-5 s (server) before it: expect 3-6 s and 5-10 s.
"""

from __future__ import annotations

import argparse
import random
import time

import gevent
import structlog

import rtm_actors as ra
from rtm_actors import PeerOnlineState
from rtm_actors.client import link as link_module
from rtm_actors.log import configure_logging
from rtm_actors.testing import (
    CuttableProxy,
    EventRecorder,
    fast_client_config,
    running_server,
    wait_until,
)

log = structlog.get_logger("keepalive_detection")
SLOW_HEARTBEAT = {"heartbeat_interval": 300.0, "heartbeat_timeout": 600.0}


def _client(url: str, **timings: float) -> tuple[ra.RtmService, EventRecorder]:
    rtm = ra.create_agora_service().create_rtm_service()
    recorder = EventRecorder()
    rtm.initialize("bench", recorder, server_url=url, config=fast_client_config(**timings))
    return rtm, recorder


def client_side() -> float:
    """Seconds until the client's link to a silent server ends."""
    with (
        running_server(idle_timeout=600.0, keepalive_timeout=0.0) as srv,
        CuttableProxy("127.0.0.1", srv.port) as proxy,
    ):
        bob, _ = _client(proxy.url(), **SLOW_HEARTBEAT)
        bob.login(None, "bob").get(timeout=5)
        gevent.sleep(random.uniform(3.0, 6.0))  # (anywhere in the probes' cycle)
        began = time.monotonic()
        proxy.go_silent()
        wait_until(lambda: proxy.accepted == 2, timeout=60, what="the second link")
        bob.release()
        return time.monotonic() - began


def server_side() -> float:
    """Seconds until the server finds a silent client's link dead (UNREACHABLE)."""
    link_module.KEEPALIVE_TIMEOUT = 0.0
    try:
        with running_server(idle_timeout=600.0, unreachable_after=0.1) as srv:
            watcher, seen = _client(srv.url)
            watcher.login(None, "watcher").get(timeout=5)
            watcher.subscribe_peers_online_status(["bob"]).get(timeout=5)
            with CuttableProxy("127.0.0.1", srv.port) as proxy:
                bob, _ = _client(proxy.url(), **SLOW_HEARTBEAT)
                bob.login(None, "bob").get(timeout=5)
                gevent.sleep(random.uniform(5.0, 10.0))
                began = time.monotonic()
                proxy.go_silent()
                seen.wait_for(
                    "on_peers_online_status_changed",
                    lambda states: states.get("bob") is PeerOnlineState.UNREACHABLE,
                    timeout=60,
                )
                took = time.monotonic() - began
                bob.release()
            watcher.release()
            return took
    finally:
        link_module.KEEPALIVE_TIMEOUT = 6.0


def main() -> None:
    """Measure each side ``--trials`` times."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    configure_logging("warning", json=False, force=True)
    for _ in range(args.trials):
        log.warning("detected", side="client", seconds=round(client_side(), 2))
        log.warning("detected", side="server", seconds=round(server_side(), 2))


if __name__ == "__main__":
    main()
