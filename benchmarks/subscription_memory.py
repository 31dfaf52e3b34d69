"""Server memory per presence subscription: RSS of a server process before and after
``--users`` clients each subscribe to ``--peers`` users (distinct targets).

    python benchmarks/subscription_memory.py --users 100 --peers 500
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import gevent

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.testing import fast_client_config

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from peer_throughput import wait_for_port


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--peers", type=int, default=500)
    parser.add_argument("--port", type=int, default=18766)
    args = parser.parse_args(argv)
    configure_logging("warning")
    cmd = [sys.executable, "-m", "rtm_actors.cli", "serve", "--port", str(args.port)]
    server = subprocess.Popen([*cmd, "--store", "memory", "--log-level", "warning"])
    try:
        wait_for_port(args.port)
        url = f"ws://127.0.0.1:{args.port}/rtm"
        agora = ra.create_agora_service()
        users = []
        for _ in range(args.users):
            rtm = agora.create_rtm_service()
            rtm.initialize(
                "bench", ra.RtmServiceEventHandler(), server_url=url, config=fast_client_config()
            )
            users.append(rtm)
        gevent.joinall([gevent.spawn(u.login(None, f"u{i}").get, 10) for i, u in enumerate(users)])
        gevent.sleep(1.0)
        before = rss_kib(server.pid)
        futures = [
            u.subscribe_peers_online_status([f"t{i}-{j}" for j in range(args.peers)])
            for i, u in enumerate(users)
        ]
        for f in futures:
            f.get(30)
        gevent.sleep(1.0)
        after = rss_kib(server.pid)
        n = args.users * args.peers
        print(f"subscriptions={n:,} rss_before={before / 1024:.1f} MiB")
        print(f"rss_after={after / 1024:.1f} MiB")
        print(f"per_subscription={(after - before) * 1024 / n:.0f} bytes")
        agora.release()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
