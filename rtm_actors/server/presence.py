"""Who is online, and who watches whom: the node's presence index.

Part of the routing layer, beside ``Directory``: sessions report their user's state
here, and a change reaches exactly the sessions that watch that user, found through
an index by target (no scan of all sessions). Greenlets switch only at IO, so each
call is atomic.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rtm_actors.protocol.codes import PeerOnlineState
from rtm_actors.runtime import try_tell
from rtm_actors.server.directory import UserKey
from rtm_actors.server.messages import PresenceUpdate


class PresenceHub:
    """Online states by user, and watchers indexed by the user they watch."""

    def __init__(self) -> None:
        self._states: dict[UserKey, PeerOnlineState] = {}
        self._watchers: defaultdict[UserKey, set[Any]] = defaultdict(set)

    def state(self, key: UserKey) -> PeerOnlineState:
        """A user's state; users with no session here are OFFLINE."""
        return self._states.get(key, PeerOnlineState.OFFLINE)

    def set_state(self, key: UserKey, state: PeerOnlineState) -> None:
        """Record a user's new state and tell every watcher if it changed."""
        if self.state(key) is state:
            return
        if state is PeerOnlineState.OFFLINE:
            del self._states[key]
        else:
            self._states[key] = state
        update = PresenceUpdate(key[1], state)
        for watcher in list(self._watchers.get(key, ())):
            try_tell(watcher, update)

    def watch(self, watcher: Any, app_id: str, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        """Add ``watcher`` for these users; answer their current states."""
        for user_id in user_ids:
            self._watchers[(app_id, user_id)].add(watcher)
        return {u: self.state((app_id, u)) for u in user_ids}

    def unwatch(self, watcher: Any, app_id: str, user_ids: list[str] | set[str]) -> None:
        """Remove ``watcher`` for these users."""
        for user_id in user_ids:
            key = (app_id, user_id)
            watchers = self._watchers.get(key)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[key]

    def watcher_count(self) -> int:
        """How many (watcher, target) pairs are indexed."""
        return sum(len(w) for w in self._watchers.values())
