"""Cross-node traffic: 2 nodes on one Redis against the same load on one node.

Peer messages: users in pairs, each sender with a window of messages in flight; with
``--nodes 2`` every sender is on node A and every receiver on node B, so every message
and its receipt cross Redis. Channel fan-out: one sender, ``--members`` members; with
two nodes the sender and half the members are on A and the other half on B (each
message crosses to B once and is fanned out there). One node runs with the memory
store (the single-node path) unless ``--single-store`` says otherwise.

    python benchmarks/cluster_throughput.py --nodes 1 --seconds 10
    python benchmarks/cluster_throughput.py --nodes 2 --seconds 10 --redis redis://127.0.0.1:6379/9

Without ``--redis`` it claims a free database of the local Redis (15 down to 1) with the
same lock keys as the test suite, and empties it before and after.

Prints peer messages per second (receiver-acknowledged), channel deliveries per second,
and the CPU that the nodes and Redis spent per message / delivery (this machine has 2
cores shared by the nodes, Redis and the load generator, so CPU per message is the
figure that carries over to a bigger machine).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import gevent
import gevent.socket
import redis
from harness import ServerProcess, client, log_in_all, percentile

import rtm_actors as ra
from rtm_actors.log import configure_logging


@contextmanager
def node(port: int, store: str) -> Iterator[ServerProcess]:
    """``rtm-actors serve`` on ``port`` with ``store``, in its own process."""
    cmd = [sys.executable, "-m", "rtm_actors.cli", "serve", "--port", str(port)]
    child = subprocess.Popen(
        [*cmd, "--store", store, "--log-level", "warning", "--no-metrics"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 10
        while True:
            try:
                gevent.socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"node did not listen on {port}") from None
                gevent.sleep(0.05)
        yield ServerProcess(child.pid, f"ws://127.0.0.1:{port}/rtm")
    finally:
        child.terminate()
        child.wait(10)


class Cpu:
    """CPU seconds of the nodes and of Redis, between ``start`` and ``stop``."""

    def __init__(self, nodes: list[ServerProcess], redis_pid: int | None) -> None:
        self.nodes = nodes
        self.redis = ServerProcess(redis_pid, "") if redis_pid else None

    def read(self) -> tuple[float, float]:
        nodes = sum(n.cpu_seconds() for n in self.nodes)
        return nodes, self.redis.cpu_seconds() if self.redis else 0.0


def peer_load(a: str, b: str, users: int, seconds: float, window: int, cpu: Cpu) -> None:
    agora = ra.create_agora_service()
    senders = [client(agora, a) for _ in range(users)]
    receivers = [client(agora, b) for _ in range(users)]
    log_in_all(senders, "s")
    log_in_all(receivers, "r")
    delivered = 0
    stop_at = time.perf_counter() + seconds

    def send(i: int) -> None:
        nonlocal delivered
        me = senders[i]
        while time.perf_counter() < stop_at:
            batch = [
                me.send_message_to_peer(f"r{i}", me.create_message("x" * 60)) for _ in range(window)
            ]
            ok = sum(f.get(30) is ra.PeerMessageErrCode.OK for f in batch)
            delivered += ok

    (n0, r0), t0 = cpu.read(), time.perf_counter()
    gevent.joinall([gevent.spawn(send, i) for i in range(users)])
    elapsed = time.perf_counter() - t0
    n1, r1 = cpu.read()
    per = max(delivered, 1)
    print(f"peer: pairs={users} window={window} delivered={delivered} in {elapsed:.1f}s")
    print(f"peer: rate={delivered / elapsed:,.0f} msg/s")
    print(
        f"peer: cpu nodes={(n1 - n0) / per * 1e6:.0f} us/msg"
        f" redis={(r1 - r0) / per * 1e6:.0f} us/msg"
    )
    agora.release()


def fanout_load(a: str, b: str, members: int, messages: int, rate: float, cpu: Cpu) -> None:
    agora = ra.create_agora_service()
    latencies: list[float] = []

    class Member(ra.ChannelEventHandler):
        def on_message_received(self, user_id, message):
            latencies.append(time.time() - float(message.text.split(" ", 1)[0]))

    urls = [a if i % 2 == 0 else b for i in range(members)]
    clients = [client(agora, url) for url in urls]
    log_in_all(clients, "m")
    for start in range(0, members, 50):
        joins = [c.create_channel("fanout", Member()).join() for c in clients[start : start + 50]]
        for future in joins:
            future.get(60)
    sender = client(agora, a)
    sender.login(None, "sender").get(30)
    channel = sender.create_channel("fanout", ra.ChannelEventHandler())
    channel.join().get(30)
    gevent.sleep(1.0)
    expected = members * messages
    (n0, r0), t0 = cpu.read(), time.perf_counter()
    wall0 = time.time()
    for i in range(messages):
        intended = wall0 + i / rate
        gevent.sleep(max(0.0, intended - time.time()))
        channel.send_message(sender.create_message(f"{intended} {i}"))
    deadline = time.perf_counter() + 60
    while len(latencies) < expected and time.perf_counter() < deadline:
        gevent.sleep(0.05)
    elapsed = time.perf_counter() - t0
    n1, r1 = cpu.read()
    got = len(latencies)
    per = max(got, 1)
    p50, p99 = (1000 * percentile(latencies, p) for p in (50, 99))
    print(f"fanout: members={members} messages={messages} rate={rate:g}/s")
    print(f"fanout: deliveries={got}/{expected} in {elapsed:.1f}s = {got / elapsed:,.0f}/s")
    print(f"fanout: latency ms p50={p50:.1f} p99={p99:.1f}")
    print(
        f"fanout: cpu nodes={(n1 - n0) / per * 1e6:.1f} us/delivery"
        f" redis={(r1 - r0) / per * 1e6:.1f} us/delivery"
    )
    agora.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=2)
    parser.add_argument("--redis", help="a Redis database to empty and use (default: claim one)")
    parser.add_argument("--single-store", default="memory", help="store of the one node")
    parser.add_argument("--users", type=int, default=50, help="sender/receiver pairs")
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--port", type=int, default=18790)
    args = parser.parse_args(argv)
    configure_logging("warning")
    with ExitStack() as stack:
        url = args.redis or stack.enter_context(claimed_database())
        admin = redis.Redis.from_url(url)
        admin.flushdb()
        stack.callback(admin.flushdb)
        redis_pid = int(admin.info("server")["process_id"])
        store = url if args.nodes == 2 else args.single_store
        nodes = [stack.enter_context(node(args.port + i, store)) for i in range(args.nodes)]
        a, b = nodes[0].url, nodes[-1].url
        print(f"nodes={args.nodes} store={store}")
        cpu = Cpu(nodes, redis_pid)
        peer_load(a, b, args.users, args.seconds, args.window, cpu)
        fanout_load(a, b, args.members, args.messages, args.rate, cpu)
    return 0


@contextmanager
def claimed_database() -> Iterator[str]:
    """A database of the local Redis no test run or benchmark is using (lock keys)."""
    admin = redis.Redis(host="127.0.0.1", port=6379, db=0)
    for db in range(15, 0, -1):
        lock = f"rtm-actors-test-lock:{db}"
        if admin.set(lock, f"bench-{os.getpid()}", nx=True, ex=1800):
            try:
                yield f"redis://127.0.0.1:6379/{db}"
            finally:
                admin.delete(lock)
            return
    raise SystemExit("no free Redis database (rtm-actors-test-lock:1..15 all taken)")


if __name__ == "__main__":
    sys.exit(main())
