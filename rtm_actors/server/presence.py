"""Who is online, and who watches whom: the node's presence index.

Part of the routing layer, beside ``Directory``: sessions report their user's state
here, and a change reaches exactly the sessions that watch that user, found through
an index by target (no scan of all sessions). Greenlets switch only at IO, so each
call is atomic.

With several nodes (``cluster`` set), states live in Redis beside the routes: a
session's change is recorded there only if that session still owns its user, and
every node, this one included, hears it on the presence topic (``changed``) and
tells its own watchers.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

from rtm_actors.protocol.codes import PeerOnlineState
from rtm_actors.runtime import Ref, tell_or_run_inline
from rtm_actors.server.directory import UserKey
from rtm_actors.server.messages import PresenceUpdate

#: A watcher: a session, or the invitation desk's watch on a callee it waits for.
Watcher = Ref[PresenceUpdate]


class PresenceAcrossNodes(Protocol):
    """Where states live with several nodes (the node's ``Cluster``)."""

    def states(self, app_id: str, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        """Users' states across the cluster."""

    def set_presence(self, key: UserKey, session_key: str, state: PeerOnlineState) -> bool:
        """Record a session's user's state, tell every node; False if not its owner."""


class PresenceHub:
    """Online states by user, and watchers indexed by the user they watch."""

    def __init__(self, cluster: PresenceAcrossNodes | None = None) -> None:
        self._states: dict[UserKey, PeerOnlineState] = {}
        self._watchers: defaultdict[UserKey, set[Watcher]] = defaultdict(set)
        #: The node's ``Cluster`` when several nodes share Redis, else None.
        self._cluster = cluster

    def state(self, key: UserKey) -> PeerOnlineState:
        """A user's state; users with no session here are OFFLINE."""
        if self._cluster is not None:
            return self.states(key[0], [key[1]])[key[1]]
        return self._states.get(key, PeerOnlineState.OFFLINE)

    def states(self, app_id: str, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        """Several users' states (one Redis round trip with several nodes)."""
        if self._cluster is not None:
            return self._cluster.states(app_id, user_ids)
        return {u: self._states.get((app_id, u), PeerOnlineState.OFFLINE) for u in user_ids}

    def set_state(self, key: UserKey, state: PeerOnlineState, session_key: str = "") -> bool:
        """Record a user's new state and tell every watcher if it changed.

        Answers False when, with several nodes, another session owns the user now.
        """
        if self._cluster is not None:
            return self._cluster.set_presence(key, session_key, state)
        if self.state(key) is not state:
            if state is PeerOnlineState.OFFLINE:
                del self._states[key]
            else:
                self._states[key] = state
            self.changed(key, state)
        return True

    def changed(self, key: UserKey, state: PeerOnlineState) -> None:
        """Tell the watchers of ``key`` its new state."""
        if self._cluster is not None:
            if key not in self._watchers or self._states.get(key) is state:
                return
            # Only watched users' last states are kept, to skip repeats.
            self._states[key] = state
        update = PresenceUpdate(key[1], state)
        for watcher in list(self._watchers.get(key, ())):
            tell_or_run_inline(watcher, update)

    def watch(
        self, watcher: Watcher, app_id: str, user_ids: list[str]
    ) -> dict[str, PeerOnlineState]:
        """Add ``watcher`` for these users; answer their current states."""
        for user_id in user_ids:
            self._watchers[(app_id, user_id)].add(watcher)
        states = self.states(app_id, user_ids)
        if self._cluster is not None:
            self._states.update({(app_id, u): s for u, s in states.items()})
        return states

    def unwatch(self, watcher: Watcher, app_id: str, user_ids: list[str] | set[str]) -> None:
        """Remove ``watcher`` for these users."""
        for user_id in user_ids:
            key = (app_id, user_id)
            watchers = self._watchers.get(key)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[key]
                    if self._cluster is not None:
                        self._states.pop(key, None)

    def watcher_count(self) -> int:
        """How many (watcher, target) pairs are indexed."""
        return sum(len(w) for w in self._watchers.values())
