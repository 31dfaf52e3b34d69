"""Runs the workloads: for each, every system in turn, each on a fresh server process."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from rtm_actors.bench import fanout, invite, peer, sdk_peer, servers, sessions
from rtm_actors.bench.common import Settings, WorkloadOutcome
from rtm_actors.bench.results import Report, detail

log = structlog.get_logger("rtm_actors.bench")

#: The row that counts messages lost, duplicated or misrouted.
NOT_ONCE = "not delivered exactly once"
#: Workload groups, as ``--workloads`` names them.
WORKLOADS = ("peer", "fanout", "login", "invite", "idle")
#: Run only when named: our SDK as the load of our server (one system: ours).
OPTIONAL_WORKLOADS = ("sdk_peer",)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many users each workload has (the issue's sizes by default)."""

    peer_users: tuple[int, ...] = (100, 1000)
    fanout_members: tuple[int, ...] = (100, 1000)
    login_users: int = 2000
    invite_pairs: int = 50
    idle_users: int = 5000
    sdk_peer_users: tuple[int, ...] = (100,)


Run = Callable[[str, servers.BenchServer], WorkloadOutcome]


def socketio_available() -> bool:
    """Whether python-socketio is installed (the ``bench`` or ``test`` extra)."""
    try:
        import socketio  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


class Runner:
    """One benchmark run: which workloads and systems, how long, and the report."""

    def __init__(
        self,
        settings: Settings,
        systems: Sequence[str] = servers.SYSTEMS,
        progress: Callable[[str], None] | None = None,
        server_args: dict[str, tuple[str, ...]] | None = None,
        sizes: Sizes | None = None,
    ) -> None:
        self.settings = settings
        self.sizes = sizes or Sizes()
        self.systems = list(systems)
        self.report = Report()
        self.progress = progress or (lambda _line: None)
        self.server_args = server_args or {}

    def run(self, workloads: Sequence[str] = WORKLOADS) -> Report:
        """Run ``workloads`` in order; answer the report."""
        with servers.load_pinned():
            return self._run(workloads)

    def _run(self, workloads: Sequence[str]) -> Report:
        started = time.perf_counter()
        started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        s = self.settings
        z = self.sizes
        for name in workloads:
            if name == "peer":
                for users in z.peer_users:
                    self._peer(users)
            elif name == "fanout":
                for members in z.fanout_members:
                    self._each(f"fanout-{members}", _fanout_run(members, s))
            elif name == "login":
                self._each(
                    f"login-{z.login_users}",
                    lambda system, srv: sessions.run_login(system, srv, z.login_users, s),
                )
            elif name == "invite":
                self._each("invite", lambda system, srv: invite.run(system, srv, z.invite_pairs, s))
            elif name == "idle":
                self._each(
                    f"idle-{z.idle_users}",
                    lambda system, srv: sessions.run_idle(system, srv, z.idle_users, s),
                )
            elif name == "sdk_peer":
                if "ours" not in self.systems:
                    self.progress("sdk_peer: our SDK loads our server only (--systems ours)")
                for users in z.sdk_peer_users:
                    self._each(f"sdk-peer-{users}", _sdk_peer_run(users, s), only="ours")
            else:
                known = ", ".join(WORKLOADS + OPTIONAL_WORKLOADS)
                msg = f"unknown workload {name!r} (known: {known})"
                raise ValueError(msg)
        self.report.machine = machine(s, started_at, time.perf_counter() - started, self.systems)
        return self.report

    def _peer(self, users: int) -> None:
        s = self.settings
        workload = f"peer-{users}"
        full = self._each(workload, lambda system, srv: peer.run(system, srv, users, s))
        rates = [o.metrics["delivered msg/s (full load)"] for o in full.values()]
        if not rates:
            return
        # A fixed rate every system can carry: half the slowest one's full-load rate.
        rate = 0.5 * min(rates)
        for system in self.systems:
            self.report.add(workload, system, {"half-load rate msg/s": rate})
        self._each(workload, lambda system, srv: peer.run(system, srv, users, s, rate))

    def _each(self, workload: str, run: Run, only: str | None = None) -> dict[str, WorkloadOutcome]:
        """Run ``workload`` on every system of the run (or on ``only``, if it is one)."""
        outcomes: dict[str, WorkloadOutcome] = {}
        for system in self.systems:
            if only is not None and system != only:
                continue
            t0 = time.perf_counter()
            try:
                with servers.running(system, self.server_args.get(system, ())) as srv:
                    outcome = run(system, srv)
            except Exception as exc:  # noqa: BLE001 (one system failing must not end the run)
                log.warning("bench_failed", workload=workload, system=system, error=repr(exc))
                outcome = WorkloadOutcome(errors=[repr(exc)])
            seconds = time.perf_counter() - t0
            metrics = dict(outcome.metrics)
            if outcome.tally is not None and not any(m.startswith(NOT_ONCE) for m in metrics):
                t = outcome.tally
                metrics[NOT_ONCE] = t.lost + t.duplicates + t.misrouted
            self.report.add(workload, system, metrics)
            self.report.details.append(detail(workload, system, seconds, outcome))
            if outcome.metrics:
                outcomes[system] = outcome
            self.progress(_progress_line(workload, system, seconds, outcome))
        return outcomes


def _fanout_run(members: int, settings: Settings) -> Run:
    def run(system: str, srv: servers.BenchServer) -> WorkloadOutcome:
        return fanout.run(system, srv, members, settings)

    return run


def _sdk_peer_run(users: int, settings: Settings) -> Run:
    def run(system: str, srv: servers.BenchServer) -> WorkloadOutcome:
        return sdk_peer.run(system, srv, users, settings)

    return run


def _progress_line(workload: str, system: str, seconds: float, outcome: WorkloadOutcome) -> str:
    shown = ", ".join(f"{k} {v:,.1f}" for k, v in list(outcome.metrics.items())[:3])
    tally = outcome.tally
    lost = "" if tally is None or tally.clean else f" LOSS {tally}"
    errors = f" errors: {outcome.errors[:2]}" if outcome.errors else ""
    return f"{workload:12} {system:9} {seconds:5.1f}s  {shown}{lost}{errors}"


def machine(
    settings: Settings, started_at: str, seconds: float, systems: Sequence[str]
) -> dict[str, Any]:
    """Where and how the run happened."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    pinned = servers.cores()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "pinning": None
        if pinned is None
        else {
            "server": sorted(pinned[0]),
            "load": sorted(pinned[1]),
        },
        "systems": list(systems),
        "settings": {
            "warmup_s": settings.warmup,
            "measure_s": settings.measure,
            "drain_s": settings.drain,
            "connect_concurrency": settings.connect_concurrency,
            "text_chars": settings.pad,
        },
        "started": started_at,
        "duration_s": round(seconds, 1),
    }
