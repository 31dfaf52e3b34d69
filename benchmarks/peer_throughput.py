"""Peer messages through the server: users in pairs, each with a window of messages in
flight, the server in its own process (its own core).

    python benchmarks/peer_throughput.py --users 100 --seconds 10 --window 20

Prints delivered messages per second (OK receipts, i.e. receiver-acknowledged) and the
server's CPU per message, read from /proc.
"""

from __future__ import annotations

import argparse
import sys
import time

import gevent
from harness import client, log_in_all, server_process

import rtm_actors as ra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=20, help="messages in flight per sender")
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args(argv)
    with server_process(args.port) as server:
        agora = ra.create_agora_service()
        users = [client(agora, server.url) for _ in range(args.users)]
        log_in_all(users, "u")
        delivered = 0
        stop_at = time.perf_counter() + args.seconds

        def sender(i: int) -> None:
            nonlocal delivered
            me, peer = users[i], f"u{i ^ 1}"
            while time.perf_counter() < stop_at:
                batch = [
                    me.send_message_to_peer(peer, me.create_message("x" * 60))
                    for _ in range(args.window)
                ]
                # (Sum first: "delivered += <blocking expression>" would lose the
                # increments other greenlets make while this one waits.)
                ok = sum(f.get(30) is ra.PeerMessageErrCode.OK for f in batch)
                delivered += ok

        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        gevent.joinall([gevent.spawn(sender, i) for i in range(len(users))])
        elapsed = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
        print(f"users={args.users} window={args.window} seconds={elapsed:.1f}")
        print(f"delivered={delivered} rate={delivered / elapsed:,.0f} msg/s")
        print(
            f"server_cpu={cpu:.2f}s ({cpu / elapsed:.0%} of a core) "
            f"= {cpu / max(delivered, 1) * 1e6:.0f} us/message"
        )
        agora.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
