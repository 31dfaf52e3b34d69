"""Storage backends behind small interfaces: memory, SQLite (default), Redis (issue 7)."""

from __future__ import annotations

from pathlib import Path

from rtm_actors.store.base import OfflinePolicy, OfflineStore, StoredMessage, UserAttributeStore
from rtm_actors.store.memory import MemoryOfflineStore, MemoryUserAttributeStore


class UnknownStoreError(ValueError):
    """The store URL names no backend we have."""


def open_offline_store(url: str, policy: OfflinePolicy | None = None) -> OfflineStore:
    """Open the backend a URL names: ``memory``, ``sqlite:///path`` (or ``sqlite://:memory:``)."""
    if url == "memory":
        return MemoryOfflineStore(policy)
    if url.startswith("sqlite://"):
        from rtm_actors.store.sqlite import SqliteOfflineStore

        path = url.removeprefix("sqlite://").removeprefix("/") or ":memory:"
        if path != ":memory:":
            # sqlite:///rtm.db is relative, sqlite:////abs/rtm.db absolute (SQLAlchemy style)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteOfflineStore(path, policy)
    msg = f"unknown store {url!r}: use 'memory' or 'sqlite:///path/to/file.db'"
    raise UnknownStoreError(msg)


__all__ = [
    "MemoryOfflineStore",
    "MemoryUserAttributeStore",
    "OfflinePolicy",
    "OfflineStore",
    "StoredMessage",
    "UnknownStoreError",
    "UserAttributeStore",
    "open_offline_store",
]
