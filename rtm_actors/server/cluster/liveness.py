"""Node heartbeats in Redis, and the clean-up after a node that stopped beating.

Every ``node_heartbeat`` seconds a node sets ``rtm:node:{id}`` with a
``node_expiry`` TTL and checks every node in ``rtm:nodes``. A node whose key has
expired died (or lost Redis that long): the first survivor to take the lock
``rtm:node:{id}:reaping`` releases its users (presence OFFLINE) and its channel
members (member left). So a dead node is noticed within ``node_expiry +
node_heartbeat`` seconds.

If Redis itself is away, the loop retries with backoff; when it answers again, or
when the node finds its own key gone (Redis restarted empty, or the others reaped
it after a long stall), the node registers again what it holds (``resync``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gevent
import redis
import structlog

from rtm_actors.server.cluster.pubsub import Backoff

if TYPE_CHECKING:
    from rtm_actors.server.cluster.cluster import Cluster

log = structlog.get_logger("rtm_actors.server.cluster")


class Liveness:
    """The heartbeat and reaper greenlet of one node."""

    def __init__(self, cluster: Cluster, heartbeat: float, expiry: float) -> None:
        self.cluster = cluster
        self.heartbeat = heartbeat
        self.expiry = expiry
        self._greenlet: gevent.Greenlet[Any, Any] | None = None
        self.healthy = True

    def start(self) -> None:
        """Register the node now, then keep beating in a greenlet."""
        self.beat()
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop beating (the node's key then expires, or ``leave`` removes it)."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def beat(self) -> bool:
        """Refresh this node's key; answer whether it was still there."""
        c = self.cluster
        pipe = c.client.pipeline(transaction=False)
        pipe.set(c.keys.node(c.node_id), c.url_hint, px=int(self.expiry * 1000), get=True)
        pipe.sadd(c.keys.nodes, c.node_id)
        previous, _ = pipe.execute()
        return previous is not None

    def _run(self) -> None:
        backoff = Backoff(first=min(0.1, self.heartbeat), cap=self.heartbeat * 2)
        while True:
            gevent.sleep(self.heartbeat)
            try:
                was_there = self.beat()
                if not was_there or not self.healthy:
                    log.info(
                        "node_registering_again",
                        node=self.cluster.node_id,
                        reason="key lost" if self.healthy else "redis back",
                    )
                    self.cluster.resync()
                self.healthy = True
                backoff.reset()
                self.reap()
            except (redis.RedisError, OSError) as exc:
                if self.healthy:
                    log.warning("redis_unavailable", node=self.cluster.node_id, error=str(exc))
                self.healthy = False
                backoff.sleep()

    def reap(self) -> None:
        """Clean up after every node whose heartbeat expired (one survivor each)."""
        c = self.cluster
        others = [
            n.decode() if isinstance(n, bytes) else str(n) for n in c.client.smembers(c.keys.nodes)
        ]
        others = [n for n in others if n != c.node_id]
        if not others:
            return
        pipe = c.client.pipeline(transaction=False)
        for node in others:
            pipe.exists(c.keys.node(node))
        for node, alive in zip(others, pipe.execute(), strict=True):
            if alive:
                continue
            lock = c.keys.node(node) + ":reaping"
            if c.client.set(lock, c.node_id, nx=True, px=int(self.expiry * 4000)):
                c.reap(node)
