"""Channel rules (spec 3.5, 1.4), pure: replay of recent messages, member-count pacing.

Numbers: a client joins at most 20 channels; above 512 members a channel stops member
events and reports counts every 3 s instead of every second; ``get_members`` returns at
most 512; a member back from a short drop gets at most 32 messages of the last 30 s.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

MAX_JOINED_CHANNELS: Final = 20
MEMBER_EVENT_LIMIT: Final = 512
GET_MEMBERS_LIMIT: Final = 512
MAX_COUNT_CHANNELS: Final = 32
REPLAY_MAX: Final = 32
REPLAY_WINDOW_S: Final = 30.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Recent(Generic[T]):
    """A channel message kept for replay."""

    cseq: int
    at: float
    sender_id: str
    item: T


class ReplayBuffer(Generic[T]):
    """The last ``REPLAY_MAX`` messages of a channel, for members coming back."""

    __slots__ = ("_recent", "window")

    def __init__(self, size: int = REPLAY_MAX, window: float = REPLAY_WINDOW_S) -> None:
        self._recent: deque[Recent[T]] = deque(maxlen=size)
        self.window = window

    def append(self, cseq: int, at: float, sender_id: str, item: T) -> None:
        """Keep a message (the oldest falls out past the size)."""
        self._recent.append(Recent(cseq, at, sender_id, item))

    def since(self, after: int, now: float, exclude_sender: str = "") -> list[T]:
        """Messages newer than ``after`` and younger than the window, oldest first."""
        oldest = now - self.window
        return [
            r.item
            for r in self._recent
            if r.cseq > after and r.at >= oldest and r.sender_id != exclude_sender
        ]


class SeenNumbers:
    """The channel message numbers a member has had within one epoch (the newest
    ``size``): a replay it already had is dropped, one it missed is kept even when it
    arrives after newer messages (a resumed link gets live messages before the replay
    it asked for)."""

    __slots__ = ("_heap", "_seen", "floor", "size")

    def __init__(self, size: int = 1024) -> None:
        self._heap: list[int] = []
        self._seen: set[int] = set()
        #: Numbers up to this one count as had (forgotten past ``size``).
        self.floor = 0
        self.size = size

    def first(self, cseq: int) -> bool:
        """Whether ``cseq`` is new to the member (and remember it)."""
        if cseq <= self.floor or cseq in self._seen:
            return False
        self._seen.add(cseq)
        heapq.heappush(self._heap, cseq)
        if len(self._heap) > self.size:
            self.floor = heapq.heappop(self._heap)
            self._seen.discard(self.floor)
        return True


def count_interval(count: int) -> float:
    """Seconds between member-count updates: 1 s, or 3 s above 512 members."""
    return 3.0 if count > MEMBER_EVENT_LIMIT else 1.0


def member_events_enabled(count: int) -> bool:
    """Member joined/left events go out only up to 512 members."""
    return count <= MEMBER_EVENT_LIMIT


class CountPacer:
    """Decides when a channel broadcasts its member count: on change, paced."""

    __slots__ = ("_last_at", "_last_count")

    def __init__(self) -> None:
        self._last_count = -1
        self._last_at = float("-inf")

    def due(self, count: int, now: float) -> bool:
        """Whether to broadcast ``count`` at ``now`` (and if so, note it as sent)."""
        if count == self._last_count or now - self._last_at < count_interval(count):
            return False
        self._last_count = count
        self._last_at = now
        return True


def sample_members(
    members: Sequence[str], limit: int, shuffle: Callable[[list[str]], None]
) -> list[str]:
    """All members, or ``limit`` of them chosen at random (``shuffle`` is injected)."""
    chosen = list(members)
    if len(chosen) > limit:
        shuffle(chosen)
        del chosen[limit:]
    return chosen
