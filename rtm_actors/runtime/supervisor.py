"""Supervision: clean up after children that exit, one child at a time.

Every child is temporary: a session's socket, a channel's members or an invitation's
caller are gone with it, so nothing would come back by restarting the actor. The
supervisor watches each adopted child and runs its ``on_exit`` clean-up when it exits,
normally or by a crash (a crash is logged and reported as a ``"crashed"`` event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from rtm_actors.runtime.actor import GeventActor
from rtm_actors.runtime.messages import Adopt, Census, ChildExited, Headcount

log = structlog.get_logger("rtm_actors.supervisor")


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """What to do when a child exits: ``on_exit(error)`` runs in the supervisor,
    ``error`` being ``None`` for a normal stop."""

    name: str
    on_exit: Callable[[BaseException | None], None] | None = None


class Supervisor(GeventActor):
    """Watches temporary children and cleans up after each one that exits."""

    shutdown_tier = 100
    #: Hearing of a child (every login adopts its session) is quick bookkeeping: an
    #: idle supervisor does it in the teller's greenlet.
    inline_messages = frozenset({Adopt, ChildExited})

    def __init__(
        self,
        name: str = "supervisor",
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        #: Told ``("crashed", child name)`` when a child crashes (metrics).
        self._on_event = on_event
        self._children: dict[str, tuple[pykka.ActorRef[Any], ChildSpec]] = {}
        self._early_exits: dict[str, BaseException | None] = {}
        self._log = log.bind(supervisor=name)

    def on_receive(self, message: Any) -> Any:
        match message:
            case ChildExited(urn=urn, error=error):
                self._child_exited(urn, error)
            case Adopt(ref=ref, spec=spec):
                self._children[ref.actor_urn] = (ref, spec)
                if ref.actor_urn in self._early_exits:
                    # It exited before we heard of it: its ChildExited came first.
                    self._child_exited(ref.actor_urn, self._early_exits.pop(ref.actor_urn))
            case Census():
                return Headcount(len(self._children), len(self._early_exits))
            case _:
                self._log.warning("unknown_message", message=repr(message))
        return None

    def _child_exited(self, urn: str, error: BaseException | None) -> None:
        entry = self._children.pop(urn, None)
        if entry is None:
            if len(self._early_exits) < 10_000:
                self._early_exits[urn] = error
            return
        _, spec = entry
        if error is not None:
            self._log.warning("child_crashed", child=spec.name, error=repr(error))
            if self._on_event is not None:
                self._on_event("crashed", spec.name)
        self._run_on_exit(spec, error)

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
