"""Storage backends behind small interfaces: memory, SQLite (default), Redis."""

from __future__ import annotations

from pathlib import Path

from rtm_actors.store.base import (
    ChannelAttributeStore,
    MembershipStore,
    OfflinePolicy,
    OfflineStore,
    Route,
    RoutingStore,
    StoredAttribute,
    StoredMessage,
    UserAttributeStore,
    accepts_offline,
)
from rtm_actors.store.memory import (
    MemoryChannelAttributeStore,
    MemoryMembershipStore,
    MemoryOfflineStore,
    MemoryRoutingStore,
    MemoryUserAttributeStore,
)


class UnknownStoreError(ValueError):
    """The store URL names no backend we have."""


def open_offline_store(url: str, policy: OfflinePolicy | None = None) -> OfflineStore:
    """Open the backend a URL names: ``memory``, ``sqlite:///path`` (or
    ``sqlite://:memory:``), or ``redis://host:port/db`` (needs the ``redis`` extra)."""
    if url == "memory":
        return MemoryOfflineStore(policy)
    if url.startswith("sqlite://"):
        from rtm_actors.store.sqlite import SqliteOfflineStore

        path = url.removeprefix("sqlite://").removeprefix("/") or ":memory:"
        if path != ":memory:":
            # sqlite:///rtm.db is relative, sqlite:////abs/rtm.db absolute (SQLAlchemy style)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteOfflineStore(path, policy)
    if is_redis_url(url):
        from rtm_actors.runtime.redis_socket import gevent_redis
        from rtm_actors.store.redis_store import RedisOfflineStore

        store = RedisOfflineStore(gevent_redis(url), policy)
        store.check()
        return store
    msg = f"unknown store {url!r}: use 'memory', 'sqlite:///path/to/file.db' or 'redis://...'"
    raise UnknownStoreError(msg)


def is_redis_url(url: str) -> bool:
    """Whether a store URL names Redis (several nodes then share it)."""
    return url.startswith("redis://")


__all__ = [
    "ChannelAttributeStore",
    "MembershipStore",
    "MemoryChannelAttributeStore",
    "MemoryMembershipStore",
    "MemoryOfflineStore",
    "MemoryRoutingStore",
    "MemoryUserAttributeStore",
    "OfflinePolicy",
    "OfflineStore",
    "Route",
    "RoutingStore",
    "StoredAttribute",
    "StoredMessage",
    "UnknownStoreError",
    "UserAttributeStore",
    "accepts_offline",
    "is_redis_url",
    "open_offline_store",
]
