"""The storage interfaces the server depends on; backends implement them.

Calls may block (SQLite, Redis): the server calls them from the actor that needs
the answer, never from the hub, and backends offload blocking work themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rtm_actors.protocol.limits import MAX_OFFLINE_MESSAGES, OFFLINE_MESSAGE_TTL_S


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A peer message kept for a receiver who was offline.

    ``store_id`` is assigned by the store and orders messages oldest first.
    ``ts`` is the server's receive time in ms since the epoch.
    """

    sender_id: str
    message_id: int
    kind: int
    text: str
    raw: bytes | None
    ts: int
    store_id: int = 0


@dataclass(frozen=True, slots=True)
class OfflinePolicy:
    """How many offline messages a receiver keeps, and for how long (Agora: 200, 7 days)."""

    max_per_receiver: int = MAX_OFFLINE_MESSAGES
    ttl_s: float = OFFLINE_MESSAGE_TTL_S


@runtime_checkable
class OfflineStore(Protocol):
    """Offline peer messages, per (app id, receiver id), oldest first, bounded."""

    def push(self, app_id: str, receiver_id: str, message: StoredMessage) -> None:
        """Keep ``message``; beyond the per-receiver bound the oldest is dropped."""

    def fetch(self, app_id: str, receiver_id: str, now_ms: int) -> list[StoredMessage]:
        """Every unexpired message for the receiver, oldest first (not removed)."""
        ...

    def delete(self, app_id: str, receiver_id: str, store_ids: list[int]) -> None:
        """Remove delivered messages (after the receiver acknowledged them)."""

    def count(self, app_id: str, receiver_id: str) -> int:
        """How many messages are kept for the receiver."""
        ...

    def close(self) -> None:
        """Flush and release the backend."""


@runtime_checkable
class UserAttributeStore(Protocol):
    """Each logged-in user's attributes; they live as long as the user's session."""

    def get(self, app_id: str, user_id: str) -> dict[str, str]:
        """The user's attributes (empty if none)."""
        ...

    def put(self, app_id: str, user_id: str, attributes: dict[str, str]) -> None:
        """Replace the user's attributes (an empty dict removes them)."""
