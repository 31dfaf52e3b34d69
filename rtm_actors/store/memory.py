"""In-memory store: for tests and throw-away runs. Lost when the process ends."""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict, deque

from rtm_actors.store.base import OfflinePolicy, Route, StoredAttribute, StoredMessage


class MemoryOfflineStore:
    """Offline messages in a dict of deques, each held to the policy's bound."""

    def __init__(self, policy: OfflinePolicy | None = None) -> None:
        self.policy = policy or OfflinePolicy()
        self._ids = itertools.count(1)
        self._queues: defaultdict[tuple[str, str], deque[StoredMessage]] = defaultdict(deque)

    def push(self, app_id: str, receiver_id: str, message: StoredMessage) -> bool:
        """Keep the message unless the receiver's queue is full; say whether it was."""
        queue = self._queues[(app_id, receiver_id)]
        if len(queue) >= self.policy.max_per_receiver:
            return False
        queue.append(dataclasses.replace(message, store_id=next(self._ids)))
        return True

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


class MemoryChannelAttributeStore:
    """Channel attributes in a dict."""

    def __init__(self) -> None:
        self._attributes: dict[tuple[str, str], dict[str, StoredAttribute]] = {}

    def get(self, app_id: str, channel_id: str) -> dict[str, StoredAttribute]:
        """A copy of the channel's attributes."""
        return dict(self._attributes.get((app_id, channel_id), {}))

    def put(self, app_id: str, channel_id: str, attributes: dict[str, StoredAttribute]) -> None:
        """Replace (or with an empty dict, remove) the channel's attributes."""
        if attributes:
            self._attributes[(app_id, channel_id)] = dict(attributes)
        else:
            self._attributes.pop((app_id, channel_id), None)


class MemoryRoutingStore:
    """Routes in a dict: the single-process reference for the Redis one."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Route] = {}

    def claim(self, app_id: str, user_id: str, route: Route) -> Route | None:
        """Take the user; answer the route replaced."""
        old = self._routes.get((app_id, user_id))
        self._routes[(app_id, user_id)] = route
        return old

    def release(self, app_id: str, user_id: str, node: str, session_key: str) -> bool:
        """Forget the route if it is still that session's."""
        if self._owns(app_id, user_id, node, session_key):
            del self._routes[(app_id, user_id)]
            return True
        return False

    def set_state(self, app_id: str, user_id: str, node: str, session_key: str, state: int) -> bool:
        """Record the state if that session still owns the user."""
        if not self._owns(app_id, user_id, node, session_key):
            return False
        self._routes[(app_id, user_id)] = Route(node, session_key, state)
        return True

    def locate(self, app_id: str, user_ids: list[str]) -> dict[str, Route]:
        """Routes of the users that have one."""
        found = ((u, self._routes.get((app_id, u))) for u in user_ids)
        return {u: r for u, r in found if r is not None}

    def owned_by(self, node: str) -> dict[tuple[str, str], Route]:
        """The node's users and their routes."""
        return {key: r for key, r in self._routes.items() if r.node == node}

    def drop_node(self, node: str) -> list[tuple[str, str]]:
        """Release the node's users."""
        gone = list(self.owned_by(node))
        for key in gone:
            del self._routes[key]
        return gone

    def _owns(self, app_id: str, user_id: str, node: str, session_key: str) -> bool:
        route = self._routes.get((app_id, user_id))
        return route is not None and route.node == node and route.session_key == session_key


class MemoryMembershipStore:
    """Channel members in dicts."""

    def __init__(self) -> None:
        self._members: defaultdict[tuple[str, str], dict[str, str]] = defaultdict(dict)

    def join(self, app_id: str, channel_id: str, user_id: str, node: str) -> None:
        """Add (or move) the member."""
        self._members[(app_id, channel_id)][user_id] = node

    def leave(self, app_id: str, channel_id: str, user_id: str, node: str) -> bool:
        """Remove the member if it is through ``node``."""
        members = self._members.get((app_id, channel_id))
        if members is None or members.get(user_id) != node:
            return False
        del members[user_id]
        if not members:
            del self._members[(app_id, channel_id)]
        return True

    def members(self, app_id: str, channel_id: str) -> dict[str, str]:
        """User id -> node."""
        return dict(self._members.get((app_id, channel_id), {}))

    def counts(self, app_id: str, channel_ids: list[str]) -> dict[str, int]:
        """Member counts."""
        return {c: len(self._members.get((app_id, c), ())) for c in channel_ids}

    def drop_node(
        self, node: str, keep: set[tuple[str, str, str]] | None = None
    ) -> list[tuple[str, str, str]]:
        """Remove every member through ``node`` (but those in ``keep``)."""
        gone = [
            (app, channel, user)
            for (app, channel), members in self._members.items()
            for user, n in members.items()
            if n == node and (keep is None or (app, channel, user) not in keep)
        ]
        for app, channel, user in gone:
            self.leave(app, channel, user, node)
        return gone
