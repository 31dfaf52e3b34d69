"""Who is logged in on this node: (app id, user id) to the session actor's ref; and
``Routes``, where any user's session is: here, on another node, or nowhere.

Written only by session actors and the gateway, read by any session to route a peer
message. Greenlets switch only at IO, so each call here is atomic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pykka

    from rtm_actors.runtime import Ref
    from rtm_actors.server.session import SessionActor, SessionMessage

    #: A live session here: asked to resume or stop, told anything a session takes.
    LocalSession = pykka.ActorRef[SessionActor]

UserKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Entry:
    """A live session: its actor and the key a client resumes it with."""

    ref: LocalSession
    session_key: str


class Directory:
    """The node's routing table of live sessions."""

    def __init__(self) -> None:
        self._entries: dict[UserKey, Entry] = {}
        self._refs: dict[UserKey, LocalSession] = {}

    def lookup(self, key: UserKey) -> Entry | None:
        """The session entry of that user, if one is live here."""
        return self._entries.get(key)

    def route(self, key: UserKey) -> LocalSession | None:
        """The session actor of that user, if one is live here (the hot path)."""
        return self._refs.get(key)

    def register(self, key: UserKey, ref: LocalSession, session_key: str) -> LocalSession | None:
        """Make ``ref`` the user's session; answer the ref it replaces, if any."""
        old = self._refs.get(key)
        self._entries[key] = Entry(ref, session_key)
        self._refs[key] = ref
        return old if old is not ref else None

    def unregister(self, key: UserKey, ref: LocalSession) -> bool:
        """Remove the entry only if it is still ``ref`` (a newer login may own it)."""
        if self._refs.get(key) is ref:
            del self._refs[key]
            del self._entries[key]
            return True
        return False

    def items(self) -> list[tuple[UserKey, Entry]]:
        """Every live session's user and entry (a snapshot)."""
        return list(self._entries.items())

    def sessions(self) -> list[LocalSession]:
        """Every live session actor (a snapshot)."""
        return list(self._refs.values())

    def __len__(self) -> int:
        return len(self._refs)


class Routes:
    """Where a user's session is: its actor here (the directory), a stand-in for it on
    another node (``remote``, the cluster's), or None if it is logged in nowhere."""

    __slots__ = ("_here", "_remote")

    def __init__(
        self,
        directory: Directory,
        remote: Callable[[UserKey], Ref[SessionMessage] | None] | None = None,
    ) -> None:
        # The directory's own table, read directly: every peer message routes here,
        # and this is one call less than through ``Directory.route``.
        self._here = directory._refs.get
        self._remote = remote

    def route(self, key: UserKey) -> Ref[SessionMessage] | None:
        """The user's session, wherever it is (the peer-message path)."""
        ref: Ref[SessionMessage] | None = self._here(key)
        if ref is None and self._remote is not None:
            return self._remote(key)
        return ref
