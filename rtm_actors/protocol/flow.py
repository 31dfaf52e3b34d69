"""Pure bookkeeping the session shells share: rate limits, delivery windows, de-duplication.

All three take time (when they need it) as an argument and never read a clock.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")


#: Limits up to this many events keep their times in a list (cheap to hold, and
#: cheap enough to trim); larger ones in a deque.
_SMALL_LIMIT = 32


class RateLimiter:
    """At most ``limit`` events in any window of ``window`` seconds (Agora's call limits)."""

    __slots__ = ("_times", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        # Made at the first event (a session has a dozen limiters, most never used),
        # and a list for small limits: a deque costs ~600 bytes even when empty.
        self._times: deque[float] | list[float] | None = None

    def allow(self, now: float) -> bool:
        """Count one event at ``now`` if within the limit; say whether it was."""
        times = self._times
        if times is None:
            times = self._times = [] if self.limit <= _SMALL_LIMIT else deque()
        if isinstance(times, list):
            expired = 0
            while expired < len(times) and now - times[expired] >= self.window:
                expired += 1
            del times[:expired]
        else:
            while times and now - times[0] >= self.window:
                times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def idle(self, now: float) -> bool:
        """True when no event counted is inside the window: a fresh limiter is the same."""
        times = self._times
        return not times or now - times[-1] >= self.window


class Unacked(msgspec.Struct, Generic[T], frozen=True):
    """A push the client has not yet acknowledged."""

    seq: int
    item: T


class DeliveryWindow(Generic[T]):
    """Numbers pushes to one client and keeps them until the client acknowledges.

    The client acknowledges cumulatively (``Ack(seq)`` covers every push up to
    ``seq``), so a resumed session re-sends exactly what is still here, in order.
    """

    __slots__ = ("_pending", "next_seq")

    def __init__(self) -> None:
        self.next_seq = 1
        # A list, not a deque: acknowledgements release a run from the front at once,
        # and an empty list costs a tenth of an empty deque (most windows are empty).
        self._pending: list[Unacked[T]] = []

    def push(self, item: T) -> int:
        """Number ``item`` and keep it; answer its sequence number."""
        seq = self.next_seq
        self.next_seq += 1
        self._pending.append(Unacked(seq, item))
        return seq

    def ack(self, seq: int) -> list[T]:
        """Release every push up to ``seq``; answer them, oldest first."""
        pending = self._pending
        released = 0
        while released < len(pending) and pending[released].seq <= seq:
            released += 1
        if not released:
            return []
        done = [u.item for u in pending[:released]]
        del pending[:released]
        return done

    def pending(self) -> list[Unacked[T]]:
        """Every unacknowledged push, oldest first."""
        return list(self._pending)

    def drain(self) -> list[T]:
        """Take every unacknowledged push out (the session is ending)."""
        items = [u.item for u in self._pending]
        self._pending.clear()
        return items

    def __len__(self) -> int:
        return len(self._pending)


class RecentIds(Generic[T]):
    """The last ``capacity`` ids seen, with a value each: de-duplication with a bound."""

    __slots__ = ("_items", "capacity")

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._items: OrderedDict[object, T] = OrderedDict()

    def get(self, key: object) -> T | None:
        """The value recorded for ``key``, if it is still remembered."""
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def values(self) -> list[T]:
        """Every remembered value, oldest first."""
        return list(self._items.values())

    def put(self, key: object, value: T) -> None:
        """Remember ``key``; the oldest key is forgotten past the capacity."""
        items = self._items
        items[key] = value
        items.move_to_end(key)
        if len(items) > self.capacity:
            items.popitem(last=False)
