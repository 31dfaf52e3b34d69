"""In-memory store: for tests and throw-away runs. Lost when the process ends."""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict, deque

from rtm_actors.store.base import OfflinePolicy, StoredMessage


class MemoryOfflineStore:
    """Offline messages in a dict of bounded deques."""

    def __init__(self, policy: OfflinePolicy | None = None) -> None:
        self.policy = policy or OfflinePolicy()
        self._ids = itertools.count(1)
        self._queues: defaultdict[tuple[str, str], deque[StoredMessage]] = defaultdict(
            lambda: deque(maxlen=self.policy.max_per_receiver)
        )

    def push(self, app_id: str, receiver_id: str, message: StoredMessage) -> None:
        """Keep the message; the deque's bound drops the oldest."""
        stored = dataclasses.replace(message, store_id=next(self._ids))
        self._queues[(app_id, receiver_id)].append(stored)

    def fetch(self, app_id: str, receiver_id: str, now_ms: int) -> list[StoredMessage]:
        """Unexpired messages, oldest first."""
        oldest = now_ms - int(self.policy.ttl_s * 1000)
        queue = self._queues.get((app_id, receiver_id))
        return [m for m in queue or () if m.ts >= oldest]

    def delete(self, app_id: str, receiver_id: str, store_ids: list[int]) -> None:
        """Drop the named messages."""
        key = (app_id, receiver_id)
        queue = self._queues.get(key)
        if queue is None:
            return
        gone = set(store_ids)
        kept = [m for m in queue if m.store_id not in gone]
        if kept:
            queue.clear()
            queue.extend(kept)
        else:
            del self._queues[key]

    def count(self, app_id: str, receiver_id: str) -> int:
        """How many are kept."""
        return len(self._queues.get((app_id, receiver_id), ()))

    def total(self) -> int:
        """How many are kept for all receivers (the metrics gauge)."""
        return sum(len(q) for q in self._queues.values())

    def close(self) -> None:
        """Nothing to flush."""


class MemoryUserAttributeStore:
    """User attributes in a dict."""

    def __init__(self) -> None:
        self._attributes: dict[tuple[str, str], dict[str, str]] = {}

    def get(self, app_id: str, user_id: str) -> dict[str, str]:
        """A copy of the user's attributes."""
        return dict(self._attributes.get((app_id, user_id), {}))

    def put(self, app_id: str, user_id: str, attributes: dict[str, str]) -> None:
        """Replace (or with an empty dict, remove) the user's attributes."""
        if attributes:
            self._attributes[(app_id, user_id)] = dict(attributes)
        else:
            self._attributes.pop((app_id, user_id), None)
