"""The floor of an idle logged-in user's cost: lean bench clients (a reader greenlet
each, no SDK) that only keep the protocol heartbeat, against our server in a process
of its own. Prints both sides' CPU per user-second over the window.

    python benchmarks/lean_idle.py --users 2000 --seconds 20 --interval 10

``--interval`` is the heartbeat (2 s before issue 19's #15, 10 s after). The lean
clients set no TCP keepalive; the server sets its own (``keepalive_timeout``).
"""

from __future__ import annotations

import argparse
import resource

import gevent
import structlog

from rtm_actors.bench.common import Settings, connect_all, heartbeats
from rtm_actors.bench.handler import Driver
from rtm_actors.bench.servers import running

log = structlog.get_logger("lean_idle")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Log the users in, keep their heartbeats, measure a quiet window."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    with running("ours") as server:
        names = [f"s{i}" for i in range(args.users)]
        clients = connect_all("ours", server, Driver(), names, Settings())
        for client in clients:
            client.start()
        with heartbeats(clients, args.interval):
            gevent.sleep(3)
            cpu, server_cpu = _cpu(), server.cpu_seconds()
            gevent.sleep(args.seconds)
            cpu, server_cpu = _cpu() - cpu, server.cpu_seconds() - server_cpu
    per_user_second = 1e6 / args.users / args.seconds
    log.warning(
        "lean_idle",
        interval=args.interval,
        client_us_per_user_second=round(cpu * per_user_second, 1),
        server_us_per_user_second=round(server_cpu * per_user_second, 1),
    )


if __name__ == "__main__":
    main()
