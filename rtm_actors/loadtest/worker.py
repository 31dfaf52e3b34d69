"""One process's share of a load test: its users, logged in in waves, run, drained.

The same code runs in the tool's own process (``--workers 1``) and in each worker
process (``python -m rtm_actors.loadtest.worker_process SPEC``). A ``Control`` is the phase
barrier between them: every process logs in and sets up its users, says *ready*,
and starts the traffic at the common *go* time; when its sends have their outcomes it
says *drained* and waits for *settle* (every process drained), so deliveries from
other processes' last messages are still counted.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import gevent

from rtm_actors.client.config import ClientConfig
from rtm_actors.client.service import create_agora_service
from rtm_actors.loadtest import procstat
from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.planned import PlannedUser, TickScheduler, is_scheduled
from rtm_actors.loadtest.scenario import SCENARIOS, Plan, build_plan
from rtm_actors.loadtest.stats import Stats
from rtm_actors.loadtest.user import MessageBudget, Observer, SimulatedUser, UserContext
from rtm_actors.runtime import Yielder, registry
from rtm_actors.runtime.gctune import tune_for_server

#: Seconds without a new delivery after which a drained process counts as settled.
QUIET = 0.5


def resolve_user_class(spec: str | None) -> type[SimulatedUser]:
    """The user class named by ``module:Class`` or ``file.py:Class`` (default built-in)."""
    if not spec:
        return PlannedUser
    where, _, name = spec.rpartition(":")
    if not where or not name:
        msg = f"user class must be module:Class or file.py:Class, not {spec!r}"
        raise ValueError(msg)
    if where.endswith(".py"):
        path = Path(where).resolve()
        module_name = f"rtm_loadtest_user_{abs(hash(str(path)))}"
        module = sys.modules.get(module_name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            if loader_spec is None or loader_spec.loader is None:
                msg = f"cannot load {path}"
                raise ValueError(msg)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, SimulatedUser)):
        msg = f"{spec!r} is not a SimulatedUser subclass"
        raise ValueError(msg)
    return cls


def make_plan(options: LoadOptions, user_class: type[SimulatedUser] | None = None) -> Plan:
    """The run's plan: the user class's own scenario if it has one, else ``--scenario``."""
    scenario = (user_class.scenario if user_class else None) or SCENARIOS[options.scenario]
    return build_plan(
        scenario,
        options.users,
        seed=options.seed,
        rate=options.rate,
        duration=options.duration,
        prefix=options.prefix,
    )


class Control(Protocol):
    """The phase barrier between this process and the run's coordinator."""

    def progress(self, snapshot: dict[str, Any]) -> None:
        """A progress snapshot (about once a second)."""

    def ready(self) -> float:
        """Set-up is done; block until the coordinator says go; answer the go time."""

    def drained(self) -> None:
        """Every send has its outcome; block until every process is drained."""


class LocalControl:
    """The barrier when this process is the whole run."""

    def __init__(
        self,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] | None = None,
        lead: float = 0.3,
    ) -> None:
        self._on_progress = on_progress
        self._clock = clock
        self._lead = lead

    def progress(self, snapshot: dict[str, Any]) -> None:
        """Hand the snapshot to the display."""
        if self._on_progress is not None:
            self._on_progress(snapshot)

    def ready(self) -> float:
        """Go a moment from now (every user greenlet starts on the same schedule)."""
        return (self._clock or time.time)() + self._lead

    def drained(self) -> None:
        """Nobody else to wait for."""


def client_config(options: LoadOptions) -> ClientConfig:
    """The SDK settings of load users: Agora's timings, a smaller de-duplication window,
    and one dispatcher for every user's callbacks (they only count: none blocks)."""
    return replace(ClientConfig(), dedup_window=options.dedup_window, shared_dispatcher=True)


def _chunks(items: list[SimulatedUser], size: int) -> Iterator[list[SimulatedUser]]:
    size = size if size > 0 else max(1, len(items))
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Worker:
    """Runs one process's share of the users through the phases of a run."""

    def __init__(
        self,
        options: LoadOptions,
        url: str,
        origin: float,
        index: int = 0,
        observer: Observer | None = None,
        clock: Callable[[], float] | None = None,
        tune_gc: bool = False,
    ) -> None:
        self.options = options
        #: Tune the process's garbage collector once logged in (process entry points
        #: only: it is process-wide).
        self.tune_gc = tune_gc
        self.index = index
        self.clock = clock or time.time
        self.user_class = resolve_user_class(options.user_class)
        self.plan = make_plan(options, self.user_class)
        self.stats = Stats(origin)
        share = options.max_messages // options.workers + (
            1 if index < options.max_messages % options.workers else 0
        )
        self.context = UserContext(
            plan=self.plan,
            stats=self.stats,
            agora=create_agora_service(),
            url=url,
            app_id=options.app_id,
            config=client_config(options),
            message_size=options.message_size,
            budget=MessageBudget(share),
            observer=observer,
            clock=self.clock,
        )
        self.users: list[SimulatedUser] = []
        self.phase = "start"
        self._reported_second = -1

    # -- the phases --------------------------------------------------------------------

    def run(self, control: Control) -> Stats:
        """Log in, set up, run, drain, release; answer this process's measurements."""
        stats, clock = self.stats, self.clock
        sampler = gevent.spawn(self._sample_loop, control)
        try:
            self._create_users()
            self._log_in_all()
            go_at = control.ready()
            self._run_traffic(go_at)
            self._drain()
            control.drained()
            self._settle()
            for user in self.users:
                user.finish()
            stats.mark("drained", clock())
        finally:
            sampler.kill()
            self._sample(control)
            self._release_all()
        return stats

    def _create_users(self) -> None:
        self.phase = "create"
        stats = self.stats
        if self.tune_gc:
            # Before any user's greenlets: each would keep its spawn tree's frame
            # records (~3 KiB per user), a debugging aid nothing here reads.
            gevent.config.track_greenlet_tree = False
        gc.collect()
        stats.counters["rss_kib_base"] = procstat.rss_kib()
        yielder = Yielder(50)
        for user_plan in self.plan.shard(self.index, self.options.workers):
            self.users.append(self.user_class(self.context, user_plan))
            yielder.tick()
        stats.counters["users"] = len(self.users)

    def _log_in_all(self) -> None:
        self.phase = "login"
        stats, clock = self.stats, self.clock
        stats.mark("login_start", clock())
        storm = self.plan.scenario.storm
        wave = 0 if storm else self.options.wave
        for batch in _chunks(self.users, wave):
            logins = [(user, user.start_login()) for user in batch]
            for user, future in logins:
                user.finish_login(future, self.options.login_timeout)
            setups = [gevent.spawn(user.setup) for user in batch if user.logged_in]
            gevent.joinall(setups, timeout=self.options.login_timeout)
        stats.mark("logins_done", clock())
        logged_in = sum(1 for u in self.users if u.logged_in)
        stats.counters["logged_in_after_login"] = logged_in
        gc.collect()
        stats.counters["rss_kib_logged_in"] = procstat.rss_kib()
        stats.counters["cpu_ms_login"] = round(procstat.cpu_seconds() * 1000)
        if self.tune_gc:
            # The users live as long as the run: frozen, full collections skip them
            # (one took over 100 ms at 5,000 users), and young ones come rarer.
            tune_for_server()

    def _run_traffic(self, go_at: float) -> None:
        self.phase = "traffic"
        stats, context = self.stats, self.context
        context.go_at = go_at
        context.end_at = go_at + self.options.duration
        stats.mark("go", go_at)
        cpu0 = procstat.cpu_seconds()
        yielder = Yielder(100)
        active = [u for u in self.users if u.logged_in]
        planned = [u for u in active if isinstance(u, PlannedUser) and is_scheduled(u)]
        greenlets = []
        if planned:
            greenlets.append(gevent.spawn(TickScheduler(planned, go_at, self.clock).run))
        for user in active:
            if not (isinstance(user, PlannedUser) and is_scheduled(user)):
                greenlets.append(gevent.spawn(user.run))
                yielder.tick()
        left = context.end_at - self.clock()
        gevent.joinall(greenlets, timeout=max(0.0, left) + self.options.drain_timeout)
        late = [g for g in greenlets if not g.dead]
        if late:
            stats.counters["users_cut_off"] += len(late)
            gevent.killall(late, block=True, timeout=5)
        # The traffic phase lasts its duration even when every plan ended early.
        gevent.sleep(max(0.0, context.end_at - self.clock()))
        # (A load process that fell behind ends later: its rates count the real span.)
        stats.mark("end", max(context.end_at, self.clock()))
        stats.counters["cpu_ms_traffic"] = round((procstat.cpu_seconds() - cpu0) * 1000)
        if planned:
            # What the plan had for these users (ticks, not drops), to compare with done.
            stats.counters["actions_planned"] = sum(
                sum(1 for _ in self.plan.ticks(user.plan)) for user in planned
            )
        stats.counters["capped"] = int(context.budget.capped)

    def _drain(self) -> None:
        self.phase = "drain"
        deadline = self.clock() + self.options.drain_timeout
        while self.clock() < deadline and any(u.in_flight for u in self.users):
            gevent.sleep(0.05)
        unanswered = sum(u.in_flight for u in self.users)
        for _ in range(unanswered):
            self.stats.record_error("loadtest.UNANSWERED", self.clock())

    def _settle(self) -> None:
        """Wait until deliveries stop arriving (at most ``drain_timeout``)."""
        deadline = self.clock() + self.options.drain_timeout
        last, quiet_since = -1, self.clock()
        while self.clock() < deadline:
            count = self.stats.delivered + self.stats.duplicates
            if count != last:
                last, quiet_since = count, self.clock()
            elif self.clock() - quiet_since >= QUIET:
                return
            gevent.sleep(0.05)

    def _release_all(self) -> None:
        self.phase = "release"
        yielder = Yielder(100)
        for user in self.users:
            user.release()
            yielder.tick()
        deadline = self.clock() + 5.0
        while len(registry) and self.clock() < deadline:
            gevent.sleep(0.05)

    # -- progress and samples ------------------------------------------------------------

    def _sample_loop(self, control: Control) -> None:
        while True:
            now = self.clock()
            gevent.sleep(1.0 - (now - self.stats.origin) % 1.0)
            self._sample(control)

    def _sample(self, control: Control) -> None:
        now = self.clock()
        states = +self.stats.live_states  # (without the states nobody is in)
        self.stats.sample_states(now, states)
        counters = self.stats.counters
        counters["rss_kib_peak"] = max(counters["rss_kib_peak"], procstat.rss_kib())
        control.progress(self.snapshot(now, states))

    def snapshot(self, now: float, states: Counter[str]) -> dict[str, Any]:
        """Totals so far, plus the latency histogram of the seconds since the last one."""
        stats = self.stats
        current = int(now - stats.origin)
        interval = []
        for t in range(self._reported_second + 1, current):
            second = stats.series.get(t)
            if second is not None and second.latency.get_total_count():
                interval.append(second.latency.encode().decode("ascii"))
        self._reported_second = max(self._reported_second, current - 1)
        return {
            "kind": "progress",
            "worker": self.index,
            "t": now - stats.origin,
            "phase": self.phase,
            "users": len(self.users),
            "logged_in": states.get("CONNECTED", 0),
            "sent": stats.sent,
            "acked": stats.acked,
            "delivered": stats.delivered,
            "errors": sum(stats.errors.values()),
            "latency": interval,
        }


# -- the worker process ---------------------------------------------------------------


class PipeControl:
    """The barrier over pipes: JSON lines to the coordinator, commands back on stdin."""

    def __init__(self, out_fd: int) -> None:
        from gevent.fileobject import FileObject
        from gevent.lock import Semaphore

        self._out = FileObject(out_fd, "w", buffering=1)
        self._in = FileObject(sys.stdin.fileno(), "r")
        self._lock = Semaphore()

    def send(self, message: dict[str, Any]) -> None:
        """Write one JSON line (whole: progress and phase messages never interleave)."""
        with self._lock:
            self._out.write(json.dumps(message) + "\n")
            self._out.flush()

    def _expect(self, kind: str) -> dict[str, Any]:
        line = self._in.readline()
        if not line:
            msg = "the coordinator went away"
            raise SystemExit(msg)
        message: dict[str, Any] = json.loads(line)
        if message.get("kind") != kind:
            msg = f"expected {kind!r}, got {message!r}"
            raise SystemExit(msg)
        return message

    def progress(self, snapshot: dict[str, Any]) -> None:
        """Forward a snapshot."""
        self.send(snapshot)

    def ready(self) -> float:
        """Say ready, then wait for go."""
        self.send({"kind": "ready"})
        return float(self._expect("go")["at"])

    def drained(self) -> None:
        """Say drained, then wait for settle."""
        self.send({"kind": "drained"})
        self._expect("settle")


def worker_main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process: ``SPEC`` is a JSON object (options + worker)."""
    from rtm_actors.log import configure_logging

    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    options = LoadOptions.from_json(json.dumps(spec["options"]))
    configure_logging(options.log_level)
    # The protocol owns fd 1; anything a scenario prints goes to stderr instead.
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    control = PipeControl(protocol_fd)
    worker = Worker(options, spec["url"], spec["origin"], index=spec["worker"], tune_gc=True)
    stats = worker.run(control)
    Path(spec["result"]).write_text(json.dumps(stats.to_dict()))
    control.send({"kind": "done"})
    return 0
