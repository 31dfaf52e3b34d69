"""Redis key and pub/sub topic names of a cluster (see docs/cluster.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """Redis key and pub/sub topic names (topics carry the database number, since
    pub/sub is shared by every database of a Redis server)."""

    prefix: str
    topic_prefix: str

    @property
    def nodes(self) -> str:
        """Set of the nodes that registered (alive or not yet reaped)."""
        return f"{self.prefix}nodes"

    def node(self, node: str) -> str:
        """A node's heartbeat key (expires unless refreshed)."""
        return f"{self.prefix}node:{node}"

    def inbox(self, node: str) -> str:
        """A node's pub/sub inbox."""
        return f"{self.topic_prefix}node:{node}"

    def channel(self, app_id: str, channel_id: str) -> str:
        """A channel's pub/sub topic."""
        return f"{self.topic_prefix}ch:{app_id}:{channel_id}"

    @property
    def bans(self) -> str:
        """Set of banned users (msgpack [app id, user id])."""
        return f"{self.prefix}bans"

    @property
    def presence(self) -> str:
        """The presence topic every node subscribes to."""
        return f"{self.topic_prefix}presence"
