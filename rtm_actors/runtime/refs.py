"""Typed actor references: what an actor may be told, checked by mypy.

pykka's ``ActorRef`` takes any message; a ``Ref[SessionMessage]`` says which union of
messages the actor behind it handles, so telling it something else fails type-checking.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

MessageT = TypeVar("MessageT", contravariant=True)


class Ref(Protocol[MessageT]):
    """Anything that takes messages of type ``MessageT``: a pykka ``ActorRef`` or a
    stand-in with the same ``tell`` (a cluster's ref to a user on another node)."""

    def tell(self, message: MessageT) -> None: ...
