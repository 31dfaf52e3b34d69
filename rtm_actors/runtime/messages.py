"""Messages between the runtime's actors: a child and its supervisor.

Frozen msgspec structs, as every actor message (cheaper to make than a slotted
dataclass); a field that holds a ref or a callable is a plain annotation, as nothing
here is ever encoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    import pykka

    from rtm_actors.runtime.supervisor import ChildSpec


class ChildExited(msgspec.Struct, frozen=True):
    """Child -> supervisor: the child stopped (``error`` None) or crashed."""

    urn: str
    error: BaseException | None


class Adopt(msgspec.Struct, frozen=True):
    """Tell the supervisor: watch a child that was started with ``start_under``."""

    ref: pykka.ActorRef[Any]
    spec: ChildSpec


class Census(msgspec.Struct, frozen=True):
    """Ask the supervisor: how many children it watches, and exits it cannot match yet."""


class Headcount(msgspec.Struct, frozen=True):
    """The answer to ``Census``: both stay flat on a node that keeps nothing per user."""

    children: int
    early_exits: int


#: What a supervisor takes.
SupervisorMessage = ChildExited | Adopt | Census
