"""Server memory per presence subscription: RSS of a server process before and after
``--users`` clients each subscribe to ``--peers`` users (distinct targets).

    python benchmarks/subscription_memory.py --users 100 --peers 500
"""

from __future__ import annotations

import argparse
import sys

import gevent
from harness import client, log_in_all, server_process

import rtm_actors as ra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--peers", type=int, default=500)
    parser.add_argument("--port", type=int, default=18766)
    args = parser.parse_args(argv)
    with server_process(args.port) as server:
        agora = ra.create_agora_service()
        users = [client(agora, server.url) for _ in range(args.users)]
        log_in_all(users, "u")
        gevent.sleep(1.0)
        before = server.rss_kib()
        futures = [
            u.subscribe_peers_online_status([f"t{i}-{j}" for j in range(args.peers)])
            for i, u in enumerate(users)
        ]
        for f in futures:
            f.get(30)
        gevent.sleep(1.0)
        after = server.rss_kib()
        n = args.users * args.peers
        print(f"subscriptions={n:,} rss_before={before / 1024:.1f} MiB")
        print(f"rss_after={after / 1024:.1f} MiB")
        print(f"per_subscription={(after - before) * 1024 / n:.0f} bytes")
        agora.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
