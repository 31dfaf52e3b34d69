"""How much each sender, and each app, may hold in the offline store.

Without it one user filled the store with 4,700 messages of 32 KB in 10 s, kept for
7 days. The store is keyed by receiver and its backends differ, so the node counts
what it puts in per sender and per app, in time buckets: a message counts from the
moment it is stored until its receiver acknowledges it (``release``) or its bucket is
past the store's TTL. A message the store drops for another reason (the receiver's
cap of 200) still counts until then, so the figure is an upper bound on what the
store holds for them, never an undercount. Messages stored by one node and delivered
through another are released on neither: the bound errs on the safe side again.
"""

from __future__ import annotations

from typing import Any

from rtm_actors.protocol.limits import OFFLINE_MESSAGE_TTL_S

#: Messages are counted in buckets of this many seconds: few buckets per sender to sum,
#: at the price of counting a message up to one bucket past its expiry.
BUCKET_S = 6 * 3600.0


class _Held:
    """Messages and bytes held by one sender or app, per time bucket."""

    __slots__ = ("buckets",)

    def __init__(self) -> None:
        self.buckets: dict[int, list[int]] = {}

    def totals(self, oldest_live: int) -> tuple[int, int]:
        """Messages and bytes in buckets from ``oldest_live`` on; older ones dropped."""
        count = size = 0
        for bucket in [b for b in self.buckets if b < oldest_live]:
            del self.buckets[bucket]
        for held in self.buckets.values():
            count += held[0]
            size += held[1]
        return count, size

    def add(self, bucket: int, count: int, size: int) -> None:
        held = self.buckets.get(bucket)
        if held is None:
            held = self.buckets[bucket] = [0, 0]
        held[0] += count
        held[1] += size


class OfflineQuota:
    """The offline store's quotas per sender and per app, counted on this node."""

    def __init__(
        self,
        per_sender: tuple[int, int],
        per_app: tuple[int, int],
        ttl_s: float = OFFLINE_MESSAGE_TTL_S,
    ) -> None:
        self.per_sender = per_sender
        self.per_app = per_app
        self.ttl_s = ttl_s
        self._senders: dict[tuple[str, str], _Held] = {}
        self._apps: dict[str, _Held] = {}
        self._swept_at = 0.0

    def admit(self, app_id: str, sender_id: str, size: int, now_s: float) -> bool:
        """Count a message of ``size`` bytes if both quotas have room; say whether."""
        self._sweep(now_s)
        oldest = self._oldest_live(now_s)
        sender = self._senders.get((app_id, sender_id)) or _Held()
        app = self._apps.get(app_id) or _Held()
        if not _fits(sender.totals(oldest), size, self.per_sender) or not _fits(
            app.totals(oldest), size, self.per_app
        ):
            return False
        bucket = _bucket(now_s)
        sender.add(bucket, 1, size)
        app.add(bucket, 1, size)
        self._senders[(app_id, sender_id)] = sender
        self._apps[app_id] = app
        return True

    def release(self, app_id: str, sender_id: str, size: int, stored_at_s: float) -> None:
        """A stored message was delivered: it no longer counts."""
        bucket = _bucket(stored_at_s)
        for held in (self._senders.get((app_id, sender_id)), self._apps.get(app_id)):
            if held is not None and bucket in held.buckets:
                held.add(bucket, -1, -size)

    def senders(self) -> int:
        """Senders with something counted (the bookkeeping's own size)."""
        return len(self._senders)

    def _oldest_live(self, now_s: float) -> int:
        # Every message of an older bucket was stored more than the TTL ago.
        return _bucket(now_s - self.ttl_s)

    def _sweep(self, now_s: float) -> None:
        """Once a bucket, forget senders and apps with nothing live (bounded memory)."""
        if now_s - self._swept_at < BUCKET_S:
            return
        self._swept_at = now_s
        oldest = self._oldest_live(now_s)
        for table in (self._senders, self._apps):
            idle: list[Any] = [k for k, held in table.items() if held.totals(oldest)[0] <= 0]
            for key in idle:
                del table[key]


def _bucket(t: float) -> int:
    return int(t // BUCKET_S)


def _fits(held: tuple[int, int], size: int, quota: tuple[int, int]) -> bool:
    return held[0] + 1 <= quota[0] and held[1] + size <= quota[1]
