"""``rtm-actors bench``: the command line of the benchmark."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

from rtm_actors.bench.common import Settings
from rtm_actors.bench.results import table
from rtm_actors.bench.runner import OPTIONAL_WORKLOADS, WORKLOADS, Runner, socketio_available
from rtm_actors.bench.servers import SYSTEMS
from rtm_actors.log import configure_logging


def register(sub: Any) -> None:
    """Add ``bench`` to the ``rtm-actors`` subcommands."""
    bench = sub.add_parser(
        "bench",
        help="benchmark our server side by side with a transport ceiling and python-socketio",
    )
    bench.add_argument(
        "--quick", action="store_true", help="a few seconds per workload (CI, quick checks)"
    )
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    bench.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=(
            f"comma-separated, in order (default: {','.join(WORKLOADS)}; also: "
            f"{','.join(OPTIONAL_WORKLOADS)}, our SDK as the load beside the lean client)"
        ),
    )
    bench.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help=f"comma-separated (default: {','.join(SYSTEMS)})",
    )
    bench.add_argument(
        "--measure", type=float, help="seconds each measured phase runs (default 10; quick 2)"
    )
    bench.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; print the table; write the JSON if asked."""
    configure_logging("warning")
    # Killed, it still stops the server it started (its ``finally`` blocks run).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    settings = Settings.quick() if args.quick else Settings()
    if args.measure:
        settings = Settings(warmup=settings.warmup, measure=args.measure, drain=settings.drain)
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        sys.stderr.write(f"unknown systems: {', '.join(sorted(unknown))}\n")
        return 2
    if "socketio" in systems and not socketio_available():
        sys.stderr.write("python-socketio is not installed: its column stays empty\n")
        systems.remove("socketio")

    def progress(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    runner = Runner(settings, systems, progress)
    report = runner.run([w for w in args.workloads.split(",") if w])
    sys.stdout.write(table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.to_json(), f, indent=1)
            f.write("\n")
    return 0


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)
