"""What an ``RtmUser`` costs: memory per logged-in user and CPU per delivered message in
one Locust process (``Environment.create_local_runner``), against a server process of
its own, with ``--types`` and ``--tracemalloc`` saying where the memory goes.

    python benchmarks/locust_user_cost.py --users 2000
    python benchmarks/locust_user_cost.py --users 2000 --types --tracemalloc

``rtm-actors loadtest --scenario peer --users 2000 --rate 1 --url <the same server>``
gives the same figures for a ``SimulatedUser`` (``client_kib_per_user``,
``client_cpu_us_per_delivery``).
"""

# Locust patches the process when imported: first, as in a locustfile.
import locust  # noqa: I001

import argparse
import gc
import sys
import time
import tracemalloc
from collections import Counter
from typing import Any

import gevent
from locust import constant, task
from locust.env import Environment

from rtm_actors.loadtest.procstat import cpu_seconds, rss_kib
from rtm_actors.locust import PeerTasks, RtmUser
from rtm_actors.log import configure_logging
from rtm_actors.testing.process import server_process


class Chat(RtmUser):
    tasks = [PeerTasks]


class Idle(RtmUser):
    """Logged in and nothing else: comparable with the load tool's figure, which it
    takes after the logins, before the traffic."""

    wait_time = constant(3600)

    @task
    def nothing(self) -> None:
        """No call."""


def _types() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--spawn-rate", type=float, default=200.0)
    parser.add_argument("--steady", type=float, default=10.0, help="seconds of CPU measure")
    parser.add_argument("--idle", action="store_true", help="users that only log in")
    parser.add_argument("--types", action="store_true", help="objects per user, by type")
    parser.add_argument("--tracemalloc", action="store_true", help="bytes per user, by line")
    args = parser.parse_args(argv)
    n = args.users
    configure_logging("warning")
    with server_process() as server:
        options = argparse.Namespace(
            rtm_plan_users=n, rtm_settle=0.5, rtm_log_level="warning", num_users=n
        )
        env = Environment(
            user_classes=[Idle if args.idle else Chat],
            host=server.url,
            parsed_options=options,
            events=locust.events,  # where rtm_actors.locust listens
        )
        counts: Counter[str] = Counter()

        def on_request(request_type: str, name: str, exception: Any, **_: Any) -> None:
            counts[f"{request_type}:{name}:{'fail' if exception else 'ok'}"] += 1

        env.events.request.add_listener(on_request)
        runner = env.create_local_runner()
        env.events.init.fire(environment=env, runner=runner, web_ui=None)
        gc.collect()
        rss0 = rss_kib()
        types0 = _types() if args.types else None
        if args.tracemalloc:
            tracemalloc.start(1)
            snap0 = tracemalloc.take_snapshot()
        runner.start(n, spawn_rate=args.spawn_rate)
        deadline = time.monotonic() + 120
        while counts["rtm:login:ok"] < n and time.monotonic() < deadline:
            gevent.sleep(0.5)
        gevent.sleep(3.0)  # past the ramp: every user in its pacing
        gc.collect()
        rss1 = rss_kib()
        logged_in = counts["rtm:login:ok"]
        print(f"users={n} logged_in={logged_in}")
        print(f"rss_before={rss0 / 1024:.1f} MiB rss_logged_in={rss1 / 1024:.1f} MiB")
        print(f"kib_per_user={(rss1 - rss0) / max(1, logged_in):.1f}")
        if args.tracemalloc:
            snap1 = tracemalloc.take_snapshot()
            tracemalloc.stop()
            stats = snap1.compare_to(snap0, "lineno")
            total = sum(s.size_diff for s in stats)
            print(f"tracemalloc: {total / 1024 / logged_in:.1f} KiB per user traced")
            for stat in stats[:30]:
                frame = stat.traceback[0]
                print(
                    f"  {stat.size_diff / logged_in:8.0f} B/user "
                    f"{stat.count_diff / logged_in:6.2f} obj/user  {frame.filename}:{frame.lineno}"
                )
        if types0 is not None:
            grown = _types()
            grown.subtract(types0)
            print("objects per user, by type:")
            for name, count in grown.most_common(40):
                print(f"  {count / logged_in:6.2f}  {name}")
        delivered0 = counts["delivery:peer:ok"]
        cpu0, t0 = cpu_seconds(), time.monotonic()
        gevent.sleep(args.steady)
        cpu1, t1 = cpu_seconds(), time.monotonic()
        delivered = counts["delivery:peer:ok"] - delivered0
        print(f"deliveries_per_s={delivered / (t1 - t0):.0f}")
        print(f"cpu_us_per_delivery={(cpu1 - cpu0) / max(1, delivered) * 1e6:.0f}")
        print(f"cpu_us_per_user_s={(cpu1 - cpu0) / (t1 - t0) / logged_in * 1e6:.1f}")
        print("requests:", dict(sorted(counts.items())))
        runner.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
