"""Runs a load test: the server (embedded, or ``--url``), the workers, one merged result.

Without ``--url`` the server runs in a child process on 127.0.0.1 (its own core, as
``benchmarks/harness.py`` does), so the defaults work on a fresh machine. With
``--workers 1`` the users run in this process; with ``--workers K`` each of K child
processes runs every K-th user and writes its measurements as JSON, and this process
drives the phase barrier (ready -> go -> drained -> settle -> done) and merges them.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.queue
import gevent.subprocess

from rtm_actors.loadtest import procstat
from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.report import generator_warning
from rtm_actors.loadtest.scenario import SCENARIOS
from rtm_actors.loadtest.stats import Stats, percentile_spectrum
from rtm_actors.loadtest.user import Observer
from rtm_actors.loadtest.worker import (
    LocalControl,
    Worker,
    resolve_user_class,
)
from rtm_actors.protocol.limits import MAX_MESSAGE_BYTES

#: Seconds the coordinator gives workers between "go" and the start of traffic.
GO_LEAD = 0.5


class LoadError(RuntimeError):
    """The run could not be carried out (server did not start, a worker died...)."""


# -- the server ------------------------------------------------------------------------


@dataclass
class ServerHandle:
    """The server under load: a child process of ours, or a URL we were given."""

    url: str
    pid: int | None = None

    @property
    def embedded(self) -> bool:
        """Whether we started it."""
        return self.pid is not None

    def cpu_seconds(self) -> float:
        """User + system CPU of the embedded server so far (0 for a remote one)."""
        return 0.0 if self.pid is None else procstat.cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        """Resident memory of the embedded server (KiB; 0 for a remote one)."""
        return 0 if self.pid is None else procstat.rss_kib(self.pid)


@contextmanager
def embedded_server(timeout: float = 30.0) -> Iterator[ServerHandle]:
    """``rtm-actors serve`` on 127.0.0.1, any free port, memory store, in a child process."""
    cmd = [sys.executable, "-m", "rtm_actors.cli", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", "0", "--store", "memory", "--log-level", "warning"]
    child = gevent.subprocess.Popen(
        cmd, stdin=gevent.subprocess.DEVNULL, stdout=gevent.subprocess.PIPE
    )
    try:
        line = ""
        assert child.stdout is not None
        try:
            with gevent.Timeout(timeout):
                line = child.stdout.readline().decode()
        except gevent.Timeout:
            pass
        url = next((word for word in line.split() if word.startswith("ws://")), None)
        if url is None:
            msg = f"the embedded server did not start (said {line.strip()!r})"
            raise LoadError(msg)
        yield ServerHandle(url, child.pid)
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except gevent.subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
        if child.stdout is not None:
            child.stdout.close()


@contextmanager
def _server(url: str | None) -> Iterator[ServerHandle]:
    if url:
        yield ServerHandle(url)
    else:
        with embedded_server() as server:
            yield server


# -- the result ----------------------------------------------------------------------


@dataclass
class LoadResult:
    """A finished run: the options, the merged measurements and what surrounds them."""

    options: LoadOptions
    stats: Stats
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The headline figures (``Stats.summary``) plus users, memory and CPU."""
        return {**self.stats.summary(), **self.meta}

    def failures(self) -> list[str]:
        """Why this run fails its thresholds (``--max-loss``, ``--max-errors``)."""
        summary = self.stats.summary()
        reasons = []
        if not self.meta.get("logged_in"):
            reasons.append("no simulated user logged in")
        if summary["loss_ratio"] > self.options.max_loss:
            reasons.append(
                f"lost {summary['lost']:,} of {summary['expected']:,} expected deliveries"
                f" ({summary['loss_ratio']:.4%} > --max-loss {self.options.max_loss:.4%})"
            )
        if summary["errors"] > self.options.max_errors:
            reasons.append(f"{summary['errors']:,} errors > --max-errors {self.options.max_errors}")
        return reasons

    @property
    def exit_code(self) -> int:
        """0 when within the thresholds, else 1."""
        return 1 if self.failures() else 0

    def to_json(self) -> dict[str, Any]:
        """Every figure: options, summary, time series, percentile spectra, histograms."""
        stats = self.stats
        raw = stats.to_dict()
        return {
            "options": asdict(self.options),
            "summary": self.summary(),
            "verdict": {"ok": not self.failures(), "failures": self.failures()},
            "warnings": [w for w in (generator_warning(self.summary()),) if w],
            "series": stats.series_rows(),
            "latency_spectrum_ms": percentile_spectrum(stats.latency),
            "histograms": {
                "latency": raw["latency"],
                "latency_by_kind": raw["latency_by_kind"],
                "ops": raw["ops"],
            },
            "members": {c: len(m) for c, m in sorted(stats.members.items())},
        }


# -- running -------------------------------------------------------------------------


def check_options(options: LoadOptions) -> None:
    """Refuse options that would make an unbounded or impossible run."""
    problems = []
    if options.users < 1:
        problems.append("--users must be at least 1")
    if not 0 < options.duration <= 24 * 3600:
        problems.append("--duration must be between 0 and 86400 seconds")
    if options.rate < 0 or math.isinf(options.rate) or math.isnan(options.rate):
        problems.append("--rate must be a finite number >= 0")
    if options.max_messages < 0:
        problems.append("--max-messages must be >= 0")
    if not 0 <= options.message_size <= MAX_MESSAGE_BYTES:
        problems.append(f"--message-size must be between 0 and {MAX_MESSAGE_BYTES}")
    if options.wave < 0 or options.login_timeout <= 0 or options.drain_timeout < 0:
        problems.append("--wave, --login-timeout and --drain-timeout must not be negative")
    if not 1 <= options.workers <= options.users:
        problems.append("--workers must be between 1 and --users")
    if options.user_class is None and options.scenario not in SCENARIOS:
        problems.append(f"unknown scenario {options.scenario!r} (one of {', '.join(SCENARIOS)})")
    if options.url and urlsplit(options.url).scheme not in ("ws", "wss"):
        problems.append("--url must be a ws:// or wss:// URL")
    if problems:
        raise ValueError("; ".join(problems))


class _Meter:
    """Reads the server's CPU at go and once everything is drained."""

    def __init__(self, server: ServerHandle) -> None:
        self.server = server
        self.cpu_at_go = self.cpu_at_drained = 0.0

    def go(self) -> None:
        self.cpu_at_go = self.server.cpu_seconds()

    def drained(self) -> None:
        self.cpu_at_drained = self.server.cpu_seconds()


def run_load(
    options: LoadOptions,
    *,
    observer: Observer | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    tune_gc: bool = False,
) -> LoadResult:
    """Run a load test and answer its merged result.

    Args:
        options: what to run (see ``LoadOptions``).
        observer: sees every acknowledgement and delivery (``--workers 1`` only).
        progress: gets every progress snapshot (see ``progress.ProgressPrinter``).
        tune_gc: tune this process's garbage collector once the users are logged in
            (``runtime.gctune``; for process entry points: it is process-wide).

    Raises:
        ValueError: the options are out of bounds.
        LoadError: the server or a worker failed.
    """
    check_options(options)
    if options.user_class:
        resolve_user_class(options.user_class)  # fail early, in this process
    if observer is not None and options.workers > 1:
        msg = "an observer needs --workers 1 (it runs in this process)"
        raise ValueError(msg)
    origin = time.time()
    with _server(options.url) as server:
        meter = _Meter(server)
        if options.workers == 1:
            control = _LocalControlWithMeter(progress, meter)
            worker = Worker(options, server.url, origin, observer=observer, tune_gc=tune_gc)
            stats = worker.run(control)
        else:
            stats = _run_workers(options, server.url, origin, progress, meter)
        server_rss = server.rss_kib()
    return LoadResult(options, stats, _meta(options, stats, server, meter, server_rss, origin))


class _LocalControlWithMeter(LocalControl):
    def __init__(self, progress: Callable[[dict[str, Any]], None] | None, meter: _Meter) -> None:
        super().__init__(progress)
        self._meter = meter

    def ready(self) -> float:
        self._meter.go()
        return super().ready()

    def drained(self) -> None:
        self._meter.drained()


def _meta(
    options: LoadOptions,
    stats: Stats,
    server: ServerHandle,
    meter: _Meter,
    server_rss: int,
    origin: float,
) -> dict[str, Any]:
    counters = stats.counters
    logged_in = counters.get("logged_in_after_login", 0)
    grown = counters.get("rss_kib_logged_in", 0) - counters.get("rss_kib_base", 0)
    server_cpu = max(0.0, meter.cpu_at_drained - meter.cpu_at_go)
    client_cpu = counters.get("cpu_ms_traffic", 0) / 1000
    server_per = _us_per(server_cpu, stats.delivered) if server.embedded else None
    client_per = _us_per(client_cpu, stats.delivered)
    return {
        "users": counters.get("users", 0),
        "logged_in": logged_in,
        "workers": options.workers,
        "client_rss_kib": counters.get("rss_kib_logged_in", 0),
        "client_rss_kib_peak": counters.get("rss_kib_peak", 0),
        "client_kib_per_user": round(grown / logged_in, 1) if logged_in else None,
        "client_cpu_s_traffic": client_cpu,
        # Both sides' CPU per delivered message side by side, so the SDK's cost is read
        # as a ratio to the server's from one file.
        "client_cpu_us_per_delivery": client_per,
        "server_cpu_us_per_delivery": server_per,
        "client_server_cpu_ratio": round(client_per / server_per, 2)
        if client_per and server_per
        else None,
        "server": {
            "embedded": server.embedded,
            "url": server.url,
            "rss_kib": server_rss or None,
            "cpu_s_traffic": round(server_cpu, 3) if server.embedded else None,
            "cpu_us_per_delivery": server_per,
        },
        "capped": bool(counters.get("capped", 0)),
        "wall_s": round(time.time() - origin, 3),
    }


def _us_per(cpu_s: float, count: int) -> float | None:
    """Microseconds of CPU per item, or None when nothing was counted."""
    return round(cpu_s / count * 1e6, 1) if count else None


# -- worker processes ----------------------------------------------------------------


def _run_workers(
    options: LoadOptions,
    url: str,
    origin: float,
    progress: Callable[[dict[str, Any]], None] | None,
    meter: _Meter,
) -> Stats:
    count = options.workers
    tmp = Path(tempfile.mkdtemp(prefix="rtm-loadtest-"))
    events: gevent.queue.Queue[tuple[int, dict[str, Any]]] = gevent.queue.Queue()
    children: list[Any] = []
    readers = []
    try:
        for k in range(count):
            spec = {
                "options": asdict(options),
                "url": url,
                "origin": origin,
                "worker": k,
                "result": str(tmp / f"worker-{k}.json"),
            }
            child = gevent.subprocess.Popen(
                [sys.executable, "-m", "rtm_actors.loadtest.worker_process", json.dumps(spec)],
                stdin=gevent.subprocess.PIPE,
                stdout=gevent.subprocess.PIPE,
            )
            children.append(child)
            readers.append(gevent.spawn(_read_events, k, child, events))
        per_worker = math.ceil(options.users / count)
        waves = 1 if options.wave <= 0 else math.ceil(per_worker / options.wave)
        _await_all(events, "ready", count, 60 + 2 * waves * options.login_timeout, progress)
        go_at = time.time() + GO_LEAD
        meter.go()
        _tell_all(children, {"kind": "go", "at": go_at})
        bound = GO_LEAD + options.duration + 2 * options.drain_timeout + 60
        _await_all(events, "drained", count, bound, progress)
        meter.drained()
        _tell_all(children, {"kind": "settle"})
        _await_all(events, "done", count, options.drain_timeout + 60, progress)
        merged = Stats(origin)
        for k in range(count):
            merged.merge(Stats.from_dict(json.loads((tmp / f"worker-{k}.json").read_text())))
        return merged
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait()
        # The readers end at their pipe's end of file; only then are the pipes closed
        # (closing one a reader is still reading raises "reentrant call").
        gevent.joinall(readers, timeout=5)
        gevent.killall(readers)
        for child in children:
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _read_events(
    k: int, child: Any, events: gevent.queue.Queue[tuple[int, dict[str, Any]]]
) -> None:
    for line in child.stdout:
        try:
            events.put((k, json.loads(line)))
        except ValueError:
            continue
    events.put((k, {"kind": "exit"}))


def _await_all(
    events: gevent.queue.Queue[tuple[int, dict[str, Any]]],
    kind: str,
    count: int,
    timeout: float,
    progress: Callable[[dict[str, Any]], None] | None,
) -> None:
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        left = deadline - time.monotonic()
        try:
            k, message = events.get(timeout=max(0.0, left))
        except gevent.queue.Empty:
            msg = f"workers did not reach {kind!r} within {timeout:.0f} s"
            raise LoadError(msg) from None
        what = message.get("kind")
        if what == "progress":
            if progress is not None:
                progress(message)
        elif what == kind:
            seen.add(k)
        elif what == "exit" and k not in seen:
            msg = f"worker {k} exited before {kind!r}"
            raise LoadError(msg)


def _tell_all(children: list[Any], message: dict[str, Any]) -> None:
    line = (json.dumps(message) + "\n").encode()
    for child in children:
        child.stdin.write(line)
        child.stdin.flush()
