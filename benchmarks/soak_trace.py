"""What grows between soak rounds: server and load in one process, tracemalloc diffs.

A companion to ``soak.py``: it runs the same rounds of ``mixed``, but with the server
in this process (``RtmServer``) and ``tracemalloc`` on, and after each idle round
prints what the live heap gained since the first round, by allocating line and by
object type. Growth in object *counts* is a leak; RSS that moves while these stay flat
is the allocator keeping pages.

    python benchmarks/soak_trace.py --rounds 4 --users 150 --duration 20
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import sys
import time
import tracemalloc

import gevent

from rtm_actors.loadtest import LoadOptions, run_load
from rtm_actors.loadtest.procstat import rss_kib
from rtm_actors.log import configure_logging
from rtm_actors.runtime.gctune import tune_for_server
from rtm_actors.server import RtmServer, ServerConfig
from rtm_actors.server.context import ServerContext
from rtm_actors.server.invitation_actor import invitations_in_flight

#: Frames kept per allocation: enough to see which server code asked for it.
FRAMES = 8
#: Lines and types printed per diff.
TOP = 15


def wait_until_idle(ctx: ServerContext, timeout: float = 60.0) -> None:
    """Until no session and no invitation is left on the node."""
    deadline = time.monotonic() + timeout
    while (len(ctx.directory) or invitations_in_flight(ctx)) and time.monotonic() < deadline:
        gevent.sleep(0.2)


def type_counts() -> collections.Counter[str]:
    """Live gc-tracked objects by type name."""
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def print_diff(
    label: str,
    first: tracemalloc.Snapshot,
    now: tracemalloc.Snapshot,
    types: collections.Counter[str],
) -> None:
    """The lines and types that gained the most since the first round."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first, now = first.filter_traces(ignore), now.filter_traces(ignore)
    total = sum(s.size for s in now.statistics("filename")) - sum(
        s.size for s in first.statistics("filename")
    )
    rss = rss_kib() / 1024
    print(f"\n== {label}: traced heap {total / 1024:+.1f} KiB since round 1, RSS {rss:.1f} MiB")
    for stat in now.compare_to(first, "lineno")[:TOP]:
        if stat.size_diff:
            where = stat.traceback[0]
            kib = stat.size_diff / 1024
            print(f"  {kib:+9.1f} KiB {stat.count_diff:+7d}  {where.filename}:{where.lineno}")
    print("  types:", ", ".join(f"{n} {c:+d}" for n, c in types.most_common(TOP) if c))


def idle_memory() -> str:
    """RSS as the round left it, after a full collection, and after ``malloc_trim``.

    What a collection frees was cyclic garbage waiting for the (tuned, rare) old
    generation; what ``malloc_trim`` gives back was free heap glibc kept.
    """
    before = rss_kib()
    collected = gc.collect()
    collected_rss = rss_kib()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    trimmed = rss_kib()
    blocks = sys.getallocatedblocks()
    return (
        f"RSS {before / 1024:.1f} MiB, gc.collect() freed {collected} objects -> "
        f"{collected_rss / 1024:.1f} MiB, malloc_trim -> {trimmed / 1024:.1f} MiB; "
        f"pymalloc blocks {blocks:,}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the rounds; print a diff after each one past the first."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--users", type=int, default=150)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--tune", action="store_true", help="the gc settings serve uses")
    p.add_argument("--no-trace", action="store_true", help="only the memory lines")
    args = p.parse_args(argv)
    configure_logging("error")
    if args.tune:
        tune_for_server()
    if not args.no_trace:
        tracemalloc.start(FRAMES)
    server = RtmServer(host="127.0.0.1", port=0, store="memory", config=ServerConfig()).start()
    options = LoadOptions(users=args.users, duration=args.duration, url=server.url)
    first = first_types = None
    for n in range(1, args.rounds + 1):
        run_load(options)
        wait_until_idle(server.context)
        print(f"round {n} idle: {idle_memory()}", flush=True)
        if args.no_trace:
            continue
        snapshot, types = tracemalloc.take_snapshot(), type_counts()
        if first is None:
            first, first_types = snapshot, types
            continue
        types.subtract(first_types)
        print_diff(f"round {n}", first, snapshot, types)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
