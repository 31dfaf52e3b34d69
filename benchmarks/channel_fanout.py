"""Channel fan-out: 1 sender, a channel of ``--members`` members, the server in its own
process. Reports deliveries per second and end-to-end latency percentiles (sender's
clock to the member's callback, same host, measured against the intended send time),
and the server's CPU per delivery.

    python benchmarks/channel_fanout.py --members 100 --messages 1000 --rate 100
    python benchmarks/channel_fanout.py --members 1000 --messages 100 --rate 5
"""

from __future__ import annotations

import argparse
import sys
import time

import gevent
from harness import client, log_in_all, percentile, server_process

import rtm_actors as ra


class Member(ra.ChannelEventHandler):
    """Records the latency of every message it receives."""

    def __init__(self, latencies: list[float]) -> None:
        self.latencies = latencies

    def on_message_received(self, user_id, message):
        self.latencies.append(time.time() - float(message.text.split(" ", 1)[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second sent")
    parser.add_argument("--port", type=int, default=18767)
    args = parser.parse_args(argv)
    with server_process(args.port) as server:
        agora = ra.create_agora_service()
        latencies: list[float] = []
        members = [client(agora, server.url) for _ in range(args.members)]
        log_in_all(members, "m")
        for start in range(0, len(members), 50):
            joins = [
                m.create_channel("fanout", Member(latencies)).join()
                for m in members[start : start + 50]
            ]
            for future in joins:
                future.get(60)
        sender = client(agora, server.url)
        sender.login(None, "sender").get(30)
        channel = sender.create_channel("fanout", ra.ChannelEventHandler())
        channel.join().get(30)
        gevent.sleep(1.0)
        expected = args.members * args.messages
        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        interval = 1.0 / args.rate
        wall0 = time.time()
        for i in range(args.messages):
            # Stamp the intended send time, so a slow system cannot hide its queueing.
            intended = wall0 + i * interval
            gevent.sleep(max(0.0, intended - time.time()))
            channel.send_message(sender.create_message(f"{intended} {i}"))
        deadline = time.perf_counter() + 60
        while len(latencies) < expected and time.perf_counter() < deadline:
            gevent.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
        got = len(latencies)
        print(f"members={args.members} messages={args.messages} rate={args.rate:g}/s")
        print(f"deliveries={got}/{expected} in {elapsed:.1f}s = {got / elapsed:,.0f}/s")
        p50, p99, worst = (1000 * percentile(latencies, p) for p in (50, 99, 100))
        print(f"latency ms: p50={p50:.1f} p99={p99:.1f} max={worst:.1f}")
        print(f"server_cpu={cpu:.2f}s = {cpu / max(got, 1) * 1e6:.1f} us/delivery")
        agora.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
