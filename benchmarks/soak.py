"""Soak check: rounds of the load tool's ``mixed`` scenario against one server process.

After each round the server is left to go idle (no users online, no invitation in
flight) and its resident memory is read: the *idle floor*. A leak shows as floors that
climb round after round; a server that keeps nothing per departed user levels off.

    python benchmarks/soak.py --rounds 3 --users 500 --duration 90 --json soak.json

The server is ``rtm-actors serve --store memory`` on 127.0.0.1, started the way the
load tool starts its embedded server (``loadtest.runner.embedded_server``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import gevent

from rtm_actors.loadtest import LoadOptions, run_load
from rtm_actors.loadtest.runner import ServerHandle, embedded_server
from rtm_actors.log import configure_logging
from rtm_actors.top import Snapshot, fetch, metrics_url

#: The /metrics gauges reported per round (what the server still holds when idle).
GAUGES = ("rtm_users_online", "rtm_channels", "rtm_channel_members", "rtm_invitations_in_flight")
#: Seconds between RSS samples while a round runs (for its peak; a sampler greenlet in
#: the load's process, so a saturated load samples less often and may miss the top).
SAMPLE_EVERY = 0.25


@dataclass
class Round:
    """What one round left behind."""

    round: int
    peak_rss_mib: float
    idle_rss_mib: float
    idle_after_s: float
    delivered: int
    errors: int
    lost: int
    gauges: dict[str, float]


def mib(kib: int) -> float:
    """KiB -> MiB, one decimal."""
    return round(kib / 1024, 1)


def run_round(number: int, server: ServerHandle, args: argparse.Namespace) -> Round:
    """One load run against ``server``, then its idle floor."""
    peak = [server.rss_kib()]
    sampler = gevent.spawn(_sample_peak, server, peak)
    options = LoadOptions(
        scenario="mixed",
        users=args.users,
        duration=args.duration,
        url=server.url,
        seed=args.seed,
        progress_interval=0,
    )
    try:
        summary = run_load(options).summary()
    finally:
        sampler.kill()
    started = time.monotonic()
    gauges = wait_until_idle(server, args.idle_timeout)
    idle_after = time.monotonic() - started
    floor = idle_floor(server, args.settle)
    return Round(
        round=number,
        peak_rss_mib=mib(max(peak[0], floor)),
        idle_rss_mib=mib(floor),
        idle_after_s=round(idle_after, 1),
        delivered=int(summary["delivered"]),
        errors=int(summary["errors"]),
        lost=int(summary["lost"]),
        gauges=gauges,
    )


def _sample_peak(server: ServerHandle, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], server.rss_kib())
        gevent.sleep(SAMPLE_EVERY)


def wait_until_idle(server: ServerHandle, timeout: float) -> dict[str, float]:
    """Poll /metrics until no user is online and no invitation is in flight.

    Channels are only reported: an empty channel lives ``empty_channel_ttl`` (120 s)
    by design, and the same seed rejoins the same channels every round.
    """
    deadline = time.monotonic() + timeout
    while True:
        snapshot = _scrape(server)
        gauges = {name: snapshot.value(name) for name in GAUGES}
        busy = gauges["rtm_users_online"] or gauges["rtm_invitations_in_flight"]
        if not busy or time.monotonic() > deadline:
            return gauges
        gevent.sleep(0.5)


def _scrape(server: ServerHandle) -> Snapshot:
    # A blocking read, but nothing else runs between rounds.
    return fetch(metrics_url(server.url))


def idle_floor(server: ServerHandle, settle: float) -> int:
    """The lowest RSS (KiB) seen over ``settle`` seconds of an idle server."""
    lowest = server.rss_kib()
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        gevent.sleep(SAMPLE_EVERY)
        lowest = min(lowest, server.rss_kib())
    return lowest


def format_table(start_mib: float, rounds: list[Round]) -> str:
    """One line per round; the spread of the idle floors last."""
    head = f"{'round':>5} {'peak MiB':>9} {'idle MiB':>9} {'vs prev':>8} {'idle after':>10}"
    head += f" {'users':>5} {'channels':>8} {'members':>7} {'invites':>7}"
    head += f" {'delivered':>10} {'errors':>6} {'lost':>5}"
    lines = [f"server RSS before the first round: {start_mib:.1f} MiB", head]
    previous = start_mib
    for r in rounds:
        g = r.gauges
        lines.append(
            f"{r.round:>5} {r.peak_rss_mib:>9.1f} {r.idle_rss_mib:>9.1f}"
            f" {r.idle_rss_mib - previous:>+8.1f} {r.idle_after_s:>9.1f}s"
            f" {g['rtm_users_online']:>5.0f} {g['rtm_channels']:>8.0f}"
            f" {g['rtm_channel_members']:>7.0f} {g['rtm_invitations_in_flight']:>7.0f}"
            f" {r.delivered:>10,} {r.errors:>6,} {r.lost:>5,}"
        )
        previous = r.idle_rss_mib
    lines.append(f"idle floor spread: {floor_spread(rounds):.1f} MiB")
    return "\n".join(lines)


def floor_spread(rounds: list[Round]) -> float:
    """Highest minus lowest idle floor, MiB."""
    floors = [r.idle_rss_mib for r in rounds]
    return round(max(floors) - min(floors), 1) if floors else 0.0


def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Every round against one server; the JSON-able result."""
    with embedded_server() as server:
        gevent.sleep(args.settle)  # let start-up allocations finish
        start = server.rss_kib()
        rounds = [run_round(n, server, args) for n in range(1, args.rounds + 1)]
    print(format_table(mib(start), rounds))
    return {
        "command": {k: v for k, v in vars(args).items() if k != "json_path"},
        "start_rss_mib": mib(start),
        "rounds": [asdict(r) for r in rounds],
        "idle_floor_spread_mib": floor_spread(rounds),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--users", type=int, default=100, help="simulated users per round (100)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of traffic (20)")
    p.add_argument("--seed", type=int, default=1, help="the load plan's seed (1)")
    p.add_argument(
        "--settle", type=float, default=3.0, help="seconds an idle server is watched (3)"
    )
    p.add_argument("--idle-timeout", type=float, default=90.0, help="longest wait for idle (90 s)")
    p.add_argument("--json", dest="json_path", metavar="PATH", help="write the rounds here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the soak; exit 0 (the figures are the result, not a verdict)."""
    args = parse_args(argv)
    configure_logging("error")
    result = soak(args)
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
