"""Supervision: restart or clean up children that crash, one child at a time.

OTP's ``one_for_one``: a child's crash touches only that child. Each child has a
``Restart`` policy and an optional ``on_exit`` clean-up; restarts are bounded by a
``RestartIntensity``, past which the supervisor gives the child up instead of looping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from rtm_actors.protocol.restart import Restart, RestartIntensity
from rtm_actors.runtime.actor import ChildExited, GeventActor
from rtm_actors.runtime.timers import now

log = structlog.get_logger("rtm_actors.supervisor")


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to (re)start a child and what to do when it exits.

    ``start`` gets the supervisor's ref and returns the started child's ref (use
    ``SomeActor.start_under``); ``on_exit(error)`` runs in the supervisor after the
    child exited, ``error`` being ``None`` for a normal stop.
    """

    name: str
    start: Callable[[pykka.ActorRef[Any]], pykka.ActorRef[Any]]
    restart: Restart = Restart.TEMPORARY
    on_exit: Callable[[BaseException | None], None] | None = None


@dataclass(frozen=True, slots=True)
class StartChild:
    """Ask: start a child from ``spec``; the answer is its ref."""

    spec: ChildSpec


@dataclass(frozen=True, slots=True)
class Adopt:
    """Tell: watch a child that was started elsewhere with ``start_under``."""

    ref: pykka.ActorRef[Any]
    spec: ChildSpec


@dataclass(frozen=True, slots=True)
class ChildRef:
    """Ask: the current ref of the child named ``name`` (it changes on restart)."""

    name: str


@dataclass(frozen=True, slots=True)
class Census:
    """Ask: how many children the supervisor watches, and exits it cannot match yet."""


@dataclass(frozen=True, slots=True)
class Headcount:
    """The answer to ``Census``: both stay flat on a node that keeps nothing per user."""

    children: int
    early_exits: int


class Supervisor(GeventActor):
    """A ``one_for_one`` supervisor."""

    shutdown_tier = 100
    #: Hearing of a child (every login adopts its session) is quick bookkeeping: an
    #: idle supervisor does it in the teller's greenlet.
    inline_messages = frozenset({Adopt, ChildExited})

    def __init__(
        self,
        name: str = "supervisor",
        intensity: RestartIntensity | None = None,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self._intensity = intensity or RestartIntensity()
        #: Told ``(event, child name)`` for "crashed", "restarted" and "given_up" (metrics).
        self._on_event = on_event
        self._children: dict[str, tuple[pykka.ActorRef[Any], ChildSpec]] = {}
        self._early_exits: dict[str, BaseException | None] = {}
        self.restarts = 0
        self._log = log.bind(supervisor=name)

    def on_receive(self, message: Any) -> Any:
        match message:
            case ChildExited(urn=urn, error=error):
                self._child_exited(urn, error)
            case StartChild(spec=spec):
                return self._start(spec)
            case Adopt(ref=ref, spec=spec):
                self._children[ref.actor_urn] = (ref, spec)
                if ref.actor_urn in self._early_exits:
                    # It exited before we heard of it: its ChildExited came first.
                    self._child_exited(ref.actor_urn, self._early_exits.pop(ref.actor_urn))
            case Census():
                return Headcount(len(self._children), len(self._early_exits))
            case ChildRef(name=name):
                return next((r for r, s in self._children.values() if s.name == name), None)
            case _:
                self._log.warning("unknown_message", message=repr(message))
        return None

    def _start(self, spec: ChildSpec) -> pykka.ActorRef[Any]:
        ref = spec.start(self.actor_ref)
        self._children[ref.actor_urn] = (ref, spec)
        return ref

    def _child_exited(self, urn: str, error: BaseException | None) -> None:
        entry = self._children.pop(urn, None)
        if entry is None:
            if len(self._early_exits) < 10_000:
                self._early_exits[urn] = error
            return
        _, spec = entry
        if error is not None:
            self._log.warning("child_crashed", child=spec.name, error=repr(error))
            self._event("crashed", spec.name)
        self._run_on_exit(spec, error)
        if not spec.restart.should_restart(crashed=error is not None):
            return
        if not self._intensity.allow(now()):
            self._log.error("child_given_up", child=spec.name, reason="restart intensity")
            self._event("given_up", spec.name)
            return
        self.restarts += 1
        self._start(spec)
        self._log.info("child_restarted", child=spec.name)
        self._event("restarted", spec.name)

    def _event(self, event: str, child: str) -> None:
        if self._on_event is not None:
            self._on_event(event, child)

    def _run_on_exit(self, spec: ChildSpec, error: BaseException | None) -> None:
        if spec.on_exit is None:
            return
        try:
            spec.on_exit(error)
        except Exception:  # noqa: BLE001 - a cleanup bug must not stop the supervisor
            self._log.exception("child_cleanup_failed", child=spec.name)

    def on_stop(self) -> None:
        # Children stop before their supervisor (lower shutdown tier); any left go now.
        for ref, _ in list(self._children.values()):
            if ref.is_alive():
                ref.stop(block=False)
