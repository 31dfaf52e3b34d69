"""Whether a Redis keeps what it acknowledged across its own restart.

A node answers ``CACHED_BY_SERVER`` only for an offline message its store will still
have when the receiver logs in. Redis restarted without persistence comes back empty,
and the nodes never notice (they register again); so offline messages go to Redis only
when it writes an append-only file synced at least every second (``appendonly yes``
with ``appendfsync everysec`` or ``always``), or when the operator says it is durable
anyway (``ServerConfig.assume_redis_durable``: a managed Redis that hides its
``CONFIG``, or a deployment that accepts the loss). RDB snapshots alone are not
enough: what came after the last snapshot is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

#: ``appendfsync`` values that keep what was acknowledged (everysec: all but the last
#: second on a crash of the Redis process or its machine; always: everything).
DURABLE_FSYNC = frozenset({"always", "everysec"})


@dataclass(frozen=True, slots=True)
class Durability:
    """What a Redis keeps across its restart, as read from it."""

    #: The append-only file is on, synced at least every second.
    durable: bool
    #: What was read, for the log and ``/readyz`` ("appendonly no", ...).
    detail: str


def check_durability(client: Any) -> Durability:
    """Read the Redis's persistence settings (``INFO persistence``, then ``CONFIG GET
    appendfsync``; a Redis that refuses ``CONFIG`` with the AOF on is taken as syncing
    every second, its default)."""
    info = client.info("persistence")
    if not int(info.get("aof_enabled", 0)):
        return Durability(False, "appendonly no")
    try:
        fsync = _config_value(client, "appendfsync")
    except redis.ResponseError:
        return Durability(True, "appendonly yes, appendfsync unknown (CONFIG refused)")
    return Durability(fsync in DURABLE_FSYNC, f"appendonly yes, appendfsync {fsync}")


def _config_value(client: Any, name: str) -> str:
    value = client.config_get(name).get(name, "")
    return value.decode() if isinstance(value, bytes) else str(value)
