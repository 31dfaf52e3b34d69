"""How to call Redis from gevent without monkey patching: measured (docs/cluster.md).

Runs 5,000 ``SET``s from 1 and from 16 greenlets through: redis-py on gevent sockets
(``rtm_actors.runtime.redis_socket``, what the server uses), redis-py on stdlib sockets
in gevent's thread pool, and plain redis-py (which blocks the hub). A ticker greenlet
records the longest stall of the hub meanwhile. Then 100-message ``PUBLISH`` pipelines.

    python benchmarks/redis_on_gevent.py --redis redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import gevent
import redis
from gevent.threadpool import ThreadPool

from rtm_actors.runtime.redis_socket import gevent_redis


def run(name: str, call: Callable[[], object], total: int, greenlets: int = 1) -> None:
    gaps: list[float] = []

    def ticker() -> None:
        last = time.perf_counter()
        while True:
            gevent.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    def worker(n: int) -> None:
        for _ in range(n):
            call()

    tick = gevent.spawn(ticker)
    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(worker, total // greenlets) for _ in range(greenlets)])
    elapsed = time.perf_counter() - t0
    tick.kill()
    stall = max(gaps or [elapsed]) * 1000
    print(
        f"{name:34s} greenlets={greenlets:2d} {total / elapsed:8,.0f}/s"
        f"  {elapsed / total * greenlets * 1e6:7.0f} us each  longest hub stall {stall:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args(argv)
    cooperative = gevent_redis(args.redis)
    plain = redis.Redis.from_url(args.redis)
    pool4, pool1 = ThreadPool(4), ThreadPool(1)
    for greenlets in (1, 16):
        run("gevent socket (used)", lambda: cooperative.set("k", "v"), args.count, greenlets)
        run(
            "thread pool, 4 threads",
            lambda: pool4.apply(plain.set, ("k", "v")),
            args.count,
            greenlets,
        )
    run("thread pool, 1 thread", lambda: pool1.apply(plain.set, ("k", "v")), args.count)
    run("plain redis-py (blocks the hub)", lambda: plain.set("k", "v"), args.count)

    def publish_100(client: redis.Redis) -> None:
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            pipe.publish("rtm-bench", b"x" * 100)
        pipe.execute()

    run("100 PUBLISH pipelined, gevent", lambda: publish_100(cooperative), args.count // 25)
    run("100 PUBLISH pipelined, pool", lambda: pool1.apply(publish_100, (plain,)), args.count // 25)
    print("(pipelines: multiply the rate by 100 for messages per second)")
    cooperative.delete("k")
    return 0


if __name__ == "__main__":
    sys.exit(main())
