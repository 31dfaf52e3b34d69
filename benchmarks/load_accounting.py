"""What the load tool's own accounting costs per delivered message, without a network.

Drives ``Stats`` with synthetic deliveries (3,000 a second over 1,000 peer streams,
as ``rtm-actors loadtest --scenario peer --users 1000 --rate 3``) and the planned
users' ticks through a ``TickScheduler`` whose clock is always past due, then makes
the report (summary, per-second rows, JSON) the way a run ends. CPU time per
delivery (or tick) and, with ``--profile``, cProfile's function calls per delivery:
the calls are deterministic, the times are not.

    python benchmarks/load_accounting.py
    python benchmarks/load_accounting.py --profile
    valgrind --tool=callgrind python benchmarks/load_accounting.py --part ticks
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import time
from collections.abc import Callable
from typing import Any

from rtm_actors.loadtest.planned import PlannedUser, TickScheduler
from rtm_actors.loadtest.scenario import build_plan
from rtm_actors.loadtest.stats import PEER_STREAM, Stats, stream_key

RATE = 3.0


def deliveries(users: int, seconds: int) -> list[tuple[str, int, float, float]]:
    """``(key, seq, intended, now)`` of every delivery, in time order: each user sends
    ``RATE`` a second to its partner; latencies spread around a few milliseconds."""
    rng = random.Random(1)
    keys = [stream_key(PEER_STREAM, f"lt{i}", f"lt{(i + 1) % users}") for i in range(users)]
    offsets = [rng.random() / RATE for _ in range(users)]
    out = []
    for k in range(int(seconds * RATE)):
        for i, key in enumerate(keys):
            intended = 1000.0 + offsets[i] + k / RATE
            out.append((key, k + 1, intended, intended + rng.lognormvariate(-5.5, 0.6)))
    out.sort(key=lambda d: d[3])
    return out


def run_stats(items: list[tuple[str, int, float, float]]) -> Stats:
    stats = Stats(1000.0)
    record = stats.record_delivered
    for key, seq, intended, now in items:
        record(key, seq, intended, now)
    return stats


def report(stats: Stats) -> str:
    """What the end of a run makes of the stats: the summary, rows and JSON."""
    return json.dumps([stats.summary(), stats.series_rows(), stats.to_dict()])


class _Stub:
    """The parts of a ``PlannedUser`` that its ticks touch, without an SDK client."""

    def __init__(self, context: Any, plan: Any) -> None:
        self.context = context
        self.plan = plan
        self.stats = context.stats
        self.intended = 0.0

    def run_task(self, fn: Callable[..., None], *args: Any) -> None:
        pass

    events = PlannedUser.events
    act = PlannedUser.act


class _Context:
    def __init__(self, plan: Any, stats: Stats) -> None:
        self.plan = plan
        self.stats = stats
        self.clock = lambda: 1e9
        # Every tick is due (the scheduler's start is 0) and each is late by up to the
        # run's length, as schedule_lag (the users' start is this one).
        self.go_at = 1e9 - plan.duration


def run_ticks(users: int, seconds: int) -> tuple[Stats, int]:
    plan = build_plan("peer", users, rate=RATE, duration=seconds)
    stats = Stats(0.0)
    context = _Context(plan, stats)
    stubs: Any = [_Stub(context, p) for p in plan.users]
    TickScheduler(stubs, 0.0, context.clock).run()
    return stats, stats.counters["actions_done"]


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


def _calls(fn: Callable[[], Any]) -> int:
    profile = cProfile.Profile()
    profile.runcall(fn)
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many")
    parser.add_argument("--profile", action="store_true", help="count function calls")
    parser.add_argument(
        "--part",
        choices=("setup", "record", "report", "ticks"),
        help="run only this, once, after the setup and the recording (callgrind: subtract)",
    )
    args = parser.parse_args(argv)
    items = deliveries(args.users, args.seconds)
    if args.part == "setup":
        return 0
    if args.part:
        stats = run_stats(items)
        if args.part == "report":
            report(stats)
        elif args.part == "ticks":
            run_ticks(args.users, args.seconds)
        return 0
    n = len(items)
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        stats, t_record = _timed(lambda: run_stats(items))
        _, t_report = _timed(lambda: report(stats))  # noqa: B023 - called right here
        (_, ticks), t_ticks = _timed(lambda: run_ticks(args.users, args.seconds))
        for name, t in (("record", t_record), ("report", t_report), ("ticks", t_ticks)):
            best[name] = min(best.get(name, t), t)
    print(f"deliveries={n:,} ticks={ticks:,} (best of {args.repeat}, process CPU)")
    print(f"record_delivered: {best['record'] / n * 1e6:.2f} us/delivery")
    print(f"report at the end: {best['report'] / n * 1e6:.2f} us/delivery")
    print(f"ticks (plan, heap, schedule_lag): {best['ticks'] / ticks * 1e6:.2f} us/tick")
    total = (best["record"] + best["report"] + best["ticks"]) / n * 1e6
    print(f"total accounting: {total:.2f} us/delivery")
    if args.profile:
        stats = run_stats(items)
        calls_record = _calls(lambda: run_stats(items))
        calls_report = _calls(lambda: report(stats))
        calls_ticks = _calls(lambda: run_ticks(args.users, args.seconds))
        print(
            f"function calls: record {calls_record / n:.2f}/delivery,"
            f" report {calls_report / n:.3f}/delivery, ticks {calls_ticks / ticks:.2f}/tick"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
