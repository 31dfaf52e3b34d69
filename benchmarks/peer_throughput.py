"""First figure for peer messages through the server: users in pairs, each with a window
of messages in flight, the server in its own process (its own core).

    python benchmarks/peer_throughput.py --users 100 --seconds 10 --window 20

Prints delivered messages per second (OK receipts, i.e. receiver-acknowledged) and the
server's CPU seconds per 1,000 messages, read from /proc.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import gevent
import gevent.socket

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.testing import fast_client_config


def server_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            gevent.socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            gevent.sleep(0.05)
    raise SystemExit(f"server did not listen on {port}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=20, help="messages in flight per sender")
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args(argv)
    configure_logging("warning")

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtm_actors.cli",
            "serve",
            "--port",
            str(args.port),
            "--store",
            "memory",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(args.port)
        url = f"ws://127.0.0.1:{args.port}/rtm"
        agora = ra.create_agora_service()
        users = []
        for _ in range(args.users):
            rtm = agora.create_rtm_service()
            rtm.initialize(
                "bench",
                ra.RtmServiceEventHandler(),
                server_url=url,
                config=fast_client_config(peer_message_timeout=30.0),
            )
            users.append(rtm)
        gevent.joinall([gevent.spawn(u.login(None, f"u{i}").get, 10) for i, u in enumerate(users)])
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
                for f in batch:
                    if f.get(30) is ra.PeerMessageErrCode.OK:
                        delivered += 1

        cpu0, t0 = server_cpu_seconds(server.pid), time.perf_counter()
        gevent.joinall([gevent.spawn(sender, i) for i in range(len(users))])
        elapsed = time.perf_counter() - t0
        cpu = server_cpu_seconds(server.pid) - cpu0
        print(f"users={args.users} window={args.window} seconds={elapsed:.1f}")
        print(f"delivered={delivered} rate={delivered / elapsed:,.0f} msg/s")
        print(
            f"server_cpu={cpu:.2f}s ({cpu / elapsed:.0%} of a core) "
            f"= {cpu / max(delivered, 1) * 1e6:.0f} us/message"
        )
        agora.release()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
