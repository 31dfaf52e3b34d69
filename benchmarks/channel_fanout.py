"""Channel fan-out: 1 sender, a channel of ``--members`` members, the server in its own
process. Reports deliveries per second and end-to-end latency percentiles (sender's
clock to the member's callback, same host), plus the server's CPU per delivery.

    python benchmarks/channel_fanout.py --members 100 --messages 2000 --rate 200
    python benchmarks/channel_fanout.py --members 1000 --messages 300 --rate 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import gevent

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.testing import fast_client_config

sys.path.insert(0, str(Path(__file__).parent))
from peer_throughput import server_cpu_seconds, wait_for_port


class Member(ra.ChannelEventHandler):
    """Records the latency of every message it receives."""

    def __init__(self, latencies: list[float]) -> None:
        self.latencies = latencies
        self.count = 0

    def on_message_received(self, user_id, message):
        self.latencies.append(time.time() - float(message.text.split(" ", 1)[0]))
        self.count += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second sent")
    parser.add_argument("--port", type=int, default=18767)
    args = parser.parse_args(argv)
    configure_logging("warning")
    cmd = [sys.executable, "-m", "rtm_actors.cli", "serve", "--port", str(args.port)]
    server = subprocess.Popen([*cmd, "--store", "memory", "--log-level", "warning"])
    try:
        wait_for_port(args.port)
        url = f"ws://127.0.0.1:{args.port}/rtm"
        agora = ra.create_agora_service()
        latencies: list[float] = []
        handlers = []

        def member(i: int) -> None:
            rtm = agora.create_rtm_service()
            rtm.initialize(
                "bench",
                ra.RtmServiceEventHandler(),
                server_url=url,
                config=fast_client_config(request_timeout=30.0),
            )
            rtm.login(None, f"m{i}").get(30)
            handler = Member(latencies)
            handlers.append(handler)
            rtm.create_channel("fanout", handler).join().get(30)

        for start in range(0, args.members, 50):  # log in in waves, like real users
            wave = [gevent.spawn(member, i) for i in range(start, min(start + 50, args.members))]
            gevent.joinall(wave, raise_error=True)
        sender = agora.create_rtm_service()
        sender.initialize(
            "bench", ra.RtmServiceEventHandler(), server_url=url, config=fast_client_config()
        )
        sender.login(None, "sender").get(30)
        channel = sender.create_channel("fanout", ra.ChannelEventHandler())
        channel.join().get(30)
        gevent.sleep(1.0)
        expected = args.members * args.messages
        cpu0, t0 = server_cpu_seconds(server.pid), time.perf_counter()
        interval = 1.0 / args.rate
        for i in range(args.messages):
            # Pace by the intended send time, so a slow server shows up as latency.
            due = t0 + i * interval
            gevent.sleep(max(0.0, due - time.perf_counter()))
            channel.send_message(sender.create_message(f"{time.time()} {i}"))
        deadline = time.perf_counter() + 60
        while len(latencies) < expected and time.perf_counter() < deadline:
            gevent.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu = server_cpu_seconds(server.pid) - cpu0
        got = len(latencies)
        print(f"members={args.members} messages={args.messages} rate={args.rate:g}/s")
        print(f"deliveries={got}/{expected} in {elapsed:.1f}s = {got / elapsed:,.0f}/s")
        print(
            "latency ms: p50={:.1f} p99={:.1f} max={:.1f}".format(
                *(1000 * percentile(latencies, p) for p in (50, 99, 100))
            )
        )
        print(f"server_cpu={cpu:.2f}s = {cpu / max(got, 1) * 1e6:.1f} us/delivery")
        agora.release()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
