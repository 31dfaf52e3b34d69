"""Our server as the benchmark runs it: ``rtm-actors serve`` with the memory store and
the per-user message and invitation limits out of the way.

Agora's limit (1,500 messages per 3 s per session, ``ServerConfig.message_rate``)
would cap the fanout workload's one sender at 500 messages/s; the benchmark measures
what the server can carry, so the limit is raised far above any rate reached here. The
same goes for invitations (20 per 5 s and 32 in flight per caller by default, a bound on
what one hostile user can make the server hold): the invite workload's callers each
keep one in flight, back to back.
Everything else is as ``rtm-actors serve`` runs it (garbage collector tuned included).
Run as a process: ``python -m rtm_actors.bench.ours_server --port 8700``.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence

import gevent
import gevent.event

from rtm_actors.log import configure_logging
from rtm_actors.runtime.gctune import tune_for_server
from rtm_actors.server import RtmServer
from rtm_actors.server.config import ServerConfig

#: Messages per session per ``message_rate_window`` (3 s): out of reach in a benchmark.
UNLIMITED_RATE = 10_000_000


def main(argv: Sequence[str] | None = None) -> int:
    """Serve on 127.0.0.1 until SIGTERM."""
    parser = argparse.ArgumentParser(description="our server, configured for the benchmark")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    configure_logging("warning")
    tune_for_server()
    server = RtmServer(
        port=args.port,
        store="memory",
        config=ServerConfig(message_rate=UNLIMITED_RATE, invitation_rate=(UNLIMITED_RATE, 5.0)),
    )
    server.start()
    stopping = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    gevent.signal_handler(signal.SIGINT, stopping.set)
    stopping.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
