"""rtm_actors's part in a Locust process: options, shared state, the end-of-run tally.

Registered on Locust's global events when ``rtm_actors.locust`` is imported (as
Locust plugins are). The tally works in every runner:

- local: when the test stops, the process tallies its own ledger;
- distributed: when the test stops, the master sends ``rtm_tally_request`` to every
  worker; each stops measured sends, waits ``--rtm-settle`` seconds for messages in
  flight, and answers ``rtm_tally`` with its ledger's payload (counts and sequence
  ranges); the master merges them, logs the totals and sets the exit code past
  ``--rtm-max-loss`` / ``--rtm-max-duplicates``.

The master asks rather than waiting for workers to volunteer because a headless
``--run-time`` quits the master 0.5 s after telling workers to quit.
"""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event
import structlog
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from rtm_actors.client.config import ClientConfig
from rtm_actors.client.service import AgoraService
from rtm_actors.loadtest.options import LoadOptions
from rtm_actors.loadtest.seats import Seats, cached_plan
from rtm_actors.loadtest.tally import Ledger, Tally
from rtm_actors.loadtest.worker import client_config
from rtm_actors.log import configure_logging
from rtm_actors.runtime.gctune import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD

log = structlog.get_logger("rtm_actors.locust")

TALLY_REQUEST = "rtm_tally_request"
TALLY = "rtm_tally"
#: The plan size when neither ``--rtm-plan-users`` nor ``-u`` says it.
DEFAULT_PLAN_USERS = 100


@dataclass
class ProcessState:
    """What every ``RtmUser`` of one Locust process shares."""

    agora: AgoraService = field(default_factory=AgoraService)
    #: The load tool's SDK settings: a de-duplication window of 512 ids rather than
    #: 8,192 (a user at one message a second fills that in 2 hours, ~100 bytes an id).
    config: ClientConfig = field(default_factory=lambda: client_config(LoadOptions()))
    ledger: Ledger = field(default_factory=Ledger)
    seats: dict[tuple[str, str], Seats] = field(default_factory=dict)
    #: Master: worker id -> payload, for the tally being collected.
    payloads: dict[str, Any] = field(default_factory=dict)
    answered: gevent.event.Event = field(default_factory=gevent.event.Event)
    expected: set[str] = field(default_factory=set)


_states: weakref.WeakKeyDictionary[Environment, ProcessState] = weakref.WeakKeyDictionary()


def state_of(environment: Environment) -> ProcessState:
    """This process's shared state (made on first use)."""
    state = _states.get(environment)
    if state is None:
        state = _states[environment] = ProcessState()
    return state


def option(environment: Environment, name: str, default: Any) -> Any:
    """A ``--rtm-*`` option, or its default when Locust runs without our parser."""
    options = environment.parsed_options
    value = getattr(options, name, None) if options is not None else None
    return default if value is None else value


def seats_for(environment: Environment, scenario: str, prefix: str) -> Seats:
    """The seats of ``scenario``'s plan in this process."""
    state = state_of(environment)
    seats = state.seats.get((scenario, prefix))
    if seats is None:
        users = int(option(environment, "rtm_plan_users", 0)) or DEFAULT_PLAN_USERS
        plan = cached_plan(scenario, users, int(option(environment, "rtm_seed", 1)), prefix)
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            # The index comes with the master's ack, the count with its spawn message.
            count = int(option(environment, "rtm_workers", 0)) or int(
                option(environment, "expect_workers", 1)
            )
            index = runner.worker_index
        else:
            index, count = 0, 1
        seats = state.seats[(scenario, prefix)] = Seats(plan, index, count)
    return seats


# -- options -----------------------------------------------------------------------------


def _add_options(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group("rtm_actors", "RtmUser: plan, delivery tally, logging")
    group.add_argument(
        "--rtm-plan-users",
        type=int,
        default=0,
        help="users in the seeded plan (pairs, channels); default: -u",
    )
    group.add_argument("--rtm-seed", type=int, default=1, help="same seed, same plan")
    group.add_argument("--rtm-prefix", default="lt", help="user ids are <prefix><n>")
    group.add_argument("--rtm-message-size", type=int, default=64, help="characters a message")
    group.add_argument(
        "--rtm-max-loss", type=float, default=0.0, help="largest loss ratio that passes"
    )
    group.add_argument(
        "--rtm-max-duplicates", type=int, default=0, help="most duplicates that pass"
    )
    group.add_argument(
        "--rtm-settle", type=float, default=1.0, help="seconds for messages in flight at the end"
    )
    group.add_argument(
        "--rtm-tally-timeout", type=float, default=15.0, help="seconds to wait for workers"
    )
    group.add_argument("--rtm-log-level", default="warning", help="the SDK's log level")
    group.add_argument(
        "--rtm-workers", type=int, default=0, help="workers sharing the plan (the master sets it)"
    )


# -- wiring per runner ------------------------------------------------------------------


def _on_init(environment: Environment, **_: Any) -> None:
    configure_logging(str(option(environment, "rtm_log_level", "warning")))
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        # Each user's SDK spawns its greenlets deep in Locust's stack: recording every
        # spawn's tree and stack cost ~3 KiB a user, for debugging aids nobody reads.
        gevent.config.track_greenlet_tree = False
        # Every message makes young objects that die young: collect them rarer, as
        # the server and the load tool do. (No gc.freeze: users log in and out at
        # any time, and frozen garbage is never freed.)
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    options = environment.parsed_options
    if options is not None and not isinstance(runner, WorkerRunner) and not options.rtm_plan_users:
        # Custom options travel to the workers with the spawn message: fix it here.
        options.rtm_plan_users = options.num_users or DEFAULT_PLAN_USERS
    if isinstance(runner, MasterRunner):
        runner.register_message(TALLY, _on_tally)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(TALLY_REQUEST, _on_tally_request, concurrent=True)


def _on_test_start(environment: Environment, **_: Any) -> None:
    state = state_of(environment)
    state.ledger = Ledger()
    state.payloads.clear()
    state.seats.clear()  # every user of the last run has stopped
    runner, options = environment.runner, environment.parsed_options
    if isinstance(runner, MasterRunner) and options is not None:
        # Fired before the spawn messages, which carry it to the workers: how many
        # share the plan, whatever --expect-workers said (web UI runs often omit it).
        options.rtm_workers = runner.worker_count


def _on_test_stop(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return  # the master asks for the worker's ledger
    state = state_of(environment)
    if isinstance(runner, MasterRunner):
        tally = _collect(environment, state)
    else:
        state.ledger.closed = True
        gevent.sleep(float(option(environment, "rtm_settle", 1.0)))
        state.ledger.absorb(state.ledger.payload())
        tally = state.ledger.tally()
    judge(environment, tally)


def _collect(environment: Environment, state: ProcessState) -> Tally:
    runner = environment.runner
    assert isinstance(runner, MasterRunner)
    state.payloads.clear()
    state.answered.clear()
    state.expected = {client.id for client in runner.clients.all}
    runner.send_message(TALLY_REQUEST)
    timeout = float(option(environment, "rtm_settle", 1.0)) + float(
        option(environment, "rtm_tally_timeout", 15.0)
    )
    if state.expected and not state.answered.wait(timeout):
        log.error("rtm_tally_incomplete", missing=sorted(state.expected - set(state.payloads)))
    for payload in state.payloads.values():
        state.ledger.absorb(payload)
    return state.ledger.tally()


def _on_tally(environment: Environment, msg: Any, **_: Any) -> None:
    state = state_of(environment)
    state.payloads[msg.node_id] = msg.data
    if state.expected <= set(state.payloads):
        state.answered.set()


def _on_tally_request(environment: Environment, msg: Any, **_: Any) -> None:
    ledger = state_of(environment).ledger
    ledger.closed = True
    gevent.sleep(float(option(environment, "rtm_settle", 1.0)))
    runner = environment.runner
    assert runner is not None
    runner.send_message(TALLY, ledger.payload())


def judge(environment: Environment, tally: Tally) -> None:
    """Log the run's delivery totals; past the thresholds, make the exit code 1."""
    log.warning(
        "rtm_delivery_tally",
        processes=tally.processes,
        sent=tally.sent,
        acked=tally.acked,
        delivered=tally.delivered,
        expected=tally.expected,
        lost=tally.lost,
        loss_ratio=round(tally.loss_ratio, 6),
        duplicates=tally.duplicates,
        out_of_order=tally.out_of_order,
    )
    reasons = tally.failures(
        float(option(environment, "rtm_max_loss", 0.0)),
        int(option(environment, "rtm_max_duplicates", 0)),
    )
    if reasons:
        log.error("rtm_delivery_failed", reasons=reasons)
        environment.process_exit_code = 1


def install() -> None:
    """Listen to Locust's events (once a process: importing ``rtm_actors.locust`` does)."""
    events.init_command_line_parser.add_listener(_add_options)
    events.init.add_listener(_on_init)
    events.test_start.add_listener(_on_test_start)
    events.test_stop.add_listener(_on_test_stop)
