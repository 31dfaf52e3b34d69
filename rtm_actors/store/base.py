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
    """Offline peer messages, per (app id, receiver id), oldest first, bounded.

    The bound keeps the oldest: a full queue refuses a newcomer rather than drop a
    message it kept, because each kept one was answered ``CACHED_BY_SERVER`` and
    that promise must hold until the receiver has it or it expires.
    """

    def push(self, app_id: str, receiver_id: str, message: StoredMessage) -> bool:
        """Keep ``message`` unless the receiver already has the per-receiver bound;
        answer whether it was kept (checked and stored in one atomic step)."""
        ...

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


def accepts_offline(store: object) -> bool:
    """Whether ``store`` keeps an offline message as long as a sender is told it does.

    A backend whose own restart can lose what it holds, unseen by the node (a Redis
    without an append-only file), says False in its ``accepts_offline``; stores without
    the attribute (memory, SQLite, your own) are taken to keep what they are given.
    """
    return bool(getattr(store, "accepts_offline", True))


@runtime_checkable
class UserAttributeStore(Protocol):
    """Each logged-in user's attributes; they live as long as the user's session."""

    def get(self, app_id: str, user_id: str) -> dict[str, str]:
        """The user's attributes (empty if none)."""
        ...

    def put(self, app_id: str, user_id: str, attributes: dict[str, str]) -> None:
        """Replace the user's attributes (an empty dict removes them)."""


@dataclass(frozen=True, slots=True)
class StoredAttribute:
    """One channel attribute: its value, who wrote it last and when (ms)."""

    value: str
    user_id: str
    ts: int


@runtime_checkable
class ChannelAttributeStore(Protocol):
    """Each channel's attributes (they live while the channel does)."""

    def get(self, app_id: str, channel_id: str) -> dict[str, StoredAttribute]:
        """The channel's attributes (empty if none)."""
        ...

    def put(self, app_id: str, channel_id: str, attributes: dict[str, StoredAttribute]) -> None:
        """Replace the channel's attributes (an empty dict removes them)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a logged-in user's session lives, and the user's online state."""

    node: str
    session_key: str
    state: int


@runtime_checkable
class RoutingStore(Protocol):
    """Presence and routing: which node holds each user's session, and its state.

    Every write names the node and session it speaks for, and changes nothing once
    another session owns the user (a newer login elsewhere wins).
    """

    def claim(self, app_id: str, user_id: str, route: Route) -> Route | None:
        """Make ``route`` the user's; answer the route it replaced, if any."""
        ...

    def release(self, app_id: str, user_id: str, node: str, session_key: str) -> bool:
        """Forget the user's route if it is still that session's; answer whether it was."""
        ...

    def set_state(self, app_id: str, user_id: str, node: str, session_key: str, state: int) -> bool:
        """Record the user's state if that session still owns it; answer whether it did."""
        ...

    def locate(self, app_id: str, user_ids: list[str]) -> dict[str, Route]:
        """The routes of those users who are logged in somewhere."""
        ...

    def owned_by(self, node: str) -> dict[tuple[str, str], Route]:
        """The users routed to ``node`` now, with their routes."""
        ...

    def drop_node(self, node: str) -> list[tuple[str, str]]:
        """Release every user still routed to ``node``; answer them (app id, user id)."""
        ...


@runtime_checkable
class MembershipStore(Protocol):
    """Channel membership across nodes: each member and the node holding its session."""

    def join(self, app_id: str, channel_id: str, user_id: str, node: str) -> None:
        """``user_id`` is a member, through ``node``."""

    def leave(self, app_id: str, channel_id: str, user_id: str, node: str) -> bool:
        """Remove the member if it is still through ``node``; answer whether it was."""
        ...

    def members(self, app_id: str, channel_id: str) -> dict[str, str]:
        """User id -> node, for every member of the channel."""
        ...

    def counts(self, app_id: str, channel_ids: list[str]) -> dict[str, int]:
        """How many members each channel has (0 for channels with none)."""
        ...

    def drop_node(
        self, node: str, keep: set[tuple[str, str, str]] | None = None
    ) -> list[tuple[str, str, str]]:
        """Remove every member through ``node`` but those in ``keep``; answer them
        (app, channel, user)."""
        ...
