"""A timer wheel: many deadlines, one clock reading and one loop timer for all of them.

Pure bookkeeping (the caller passes the time and arms one real timer for
``next_due``). Deadlines are rounded *up* to slots of ``resolution`` seconds, so an
item is never due early and at most one slot late. Adding and removing are a dict
operation each: a node that starts and ends thousands of invitations a second pays
no loop timer per invitation, and an item removed before its time leaves nothing
behind but its slot's (shared, emptied) dict until that slot's time passes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT", bound=Hashable)


class DeadlineWheel(Generic[ItemT]):
    """Items due at deadlines, popped in slot order once their slot's time has come."""

    __slots__ = ("_order", "_slots", "resolution")

    def __init__(self, resolution: float) -> None:
        self.resolution = resolution
        #: Slot number -> the items due in it (a dict: ordered, O(1) removal).
        self._slots: dict[int, dict[ItemT, None]] = {}
        #: Slot numbers in ``_slots``, as a heap (each pushed once, when its dict is made).
        self._order: list[int] = []

    def __len__(self) -> int:
        return sum(len(items) for items in self._slots.values())

    def add(self, item: ItemT, deadline: float) -> int:
        """Make ``item`` due at ``deadline``; answer its slot (``remove`` needs it)."""
        slot = math.ceil(deadline / self.resolution)
        items = self._slots.get(slot)
        if items is None:
            items = self._slots[slot] = {}
            heapq.heappush(self._order, slot)
        items[item] = None
        return slot

    def remove(self, item: ItemT, slot: int) -> None:
        """Forget ``item`` (added with answer ``slot``); nothing if it is not there."""
        items = self._slots.get(slot)
        if items is not None:
            items.pop(item, None)

    def next_due(self) -> float | None:
        """When the earliest slot that still holds an item is due (None: nothing is)."""
        order, slots = self._order, self._slots
        while order and not slots[order[0]]:
            # Emptied by removals: nothing to wake up for.
            del slots[heapq.heappop(order)]
        return order[0] * self.resolution if order else None

    def pop_due(self, now: float) -> list[ItemT]:
        """Take out every item whose slot's time is ``now`` or past, earliest first."""
        due: list[ItemT] = []
        order, slots = self._order, self._slots
        # A slot's items are due at slot * resolution: the slots up to now / resolution.
        last = math.floor(now / self.resolution + 1e-9)
        while order and order[0] <= last:
            due.extend(slots.pop(heapq.heappop(order)))
        return due
