"""Faults under traffic: what two nodes on one Redis lose when Redis or a node dies.

Runs its own ``redis-server`` (append-only file, on a free port) and two
``rtm-actors serve`` processes, keeps peer messages (with and without offline
messaging) and channel messages flowing from real SDK clients, kills Redis (kill -9)
and starts it again after ``--redis-down`` seconds, then kills node B (kill -9) and
starts it again; prints one table (a row per fault and kind of traffic) and writes
JSON (``rtm_actors/bench/faults.py`` does the work).

    python benchmarks/faults.py --pairs 10 --rate 10 --redis-down 8 --json faults.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rtm_actors.bench.faults import FaultRow, as_dicts, run_faults
from rtm_actors.log import configure_logging

COLUMNS = ("sent", "acked", "failed", "unanswered", "deliveries", "lost", "duplicates", "late")


def table(rows: list[FaultRow]) -> str:
    head = f"{'fault':38} {'traffic':13}" + "".join(f"{c:>11}" for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = "".join(f"{getattr(r, c):>11}" for c in COLUMNS)
        lines.append(f"{r.fault:38} {r.kind:13}{cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10, help="peer sender/receiver pairs")
    parser.add_argument("--rate", type=float, default=10.0, help="rounds of traffic per second")
    parser.add_argument("--redis-down", type=float, default=8.0, help="seconds Redis stays down")
    parser.add_argument("--json", default="faults.json", help="where to write the rows")
    parser.add_argument("--logs", help="keep Redis's files and the nodes' logs in this directory")
    args = parser.parse_args()
    configure_logging("error")
    if args.logs:
        Path(args.logs).mkdir(parents=True, exist_ok=True)
        rows = run_faults(Path(args.logs), args.pairs, args.rate, args.redis_down)
    else:
        with tempfile.TemporaryDirectory() as directory:
            rows = run_faults(Path(directory), args.pairs, args.rate, args.redis_down)
    print(table(rows))
    print("lost = acknowledged to the sender but never delivered (channel: per member)")
    Path(args.json).write_text(json.dumps(as_dicts(rows), indent=1))


if __name__ == "__main__":
    main()
