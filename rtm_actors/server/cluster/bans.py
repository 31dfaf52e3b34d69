"""Bans that hold on every node: the node's ban set, kept in Redis and broadcast.

``RtmServer.ban`` (and the admin endpoint) add to the node's ``ctx.bans``; with several
nodes that set is a ``ClusterBans``, which also records the ban in ``rtm:bans`` and
tells every node, so the user's session ends wherever it is and its logins fail on
every node. A node that starts loads the bans already there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from rtm_actors.server.cluster.cluster import Cluster

BanKey = tuple[str, str]


class ClusterBans(set[BanKey]):
    """A set of (app id, user id) whose changes reach every node."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        self._cluster = cluster

    def add(self, key: BanKey) -> None:
        """Ban, here and on every node."""
        if key not in self:
            super().add(key)
            self._cluster.ban_changed(key, banned=True)

    def discard(self, key: object) -> None:
        """Lift a ban, here and on every node."""
        if key in self:
            super().discard(key)
            self._cluster.ban_changed(cast(BanKey, key), banned=False)

    def apply(self, key: BanKey, *, banned: bool) -> None:
        """Another node changed a ban: follow it here (not told again)."""
        if banned:
            super().add(key)
        else:
            super().discard(key)
