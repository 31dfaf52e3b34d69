"""How sessions and the cluster reach the node's call invitations: messages and refs.

Every invitation in flight on a node lives in the node's ``InvitationDesk``
(``server/invitation_desk.py``), which owns their ``ServerInvitation`` machines, the
registry of them and their timers. A session holds an ``InvitationRef`` per
invitation it takes part in (from ``start_invitation``, ``invitation_ref`` or an
``Involve``) and tells it the session-side inputs (``Answer``, ``Cancel``,
``Acknowledged``, ``PartyGone``); the ref hands them to the desk with the
invitation's key. For an invitation on another node the ref is a
``RemoteInvitationRef`` (``server/cluster/remote.py``) that publishes them there.
The desk tells sessions ``Involve``, ``PushInvitation``, ``Uninvolve`` and replies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pykka

from rtm_actors.protocol.codes import PeerOnlineState
from rtm_actors.protocol.frames import InvitationEvent
from rtm_actors.runtime import tell_or_run_inline
from rtm_actors.server.messages import PresenceUpdate

if TYPE_CHECKING:
    from rtm_actors.server.services import DeskHolder

InvitationKey = tuple[str, str, int]  # app id, caller id, invitation id

# -- what a session tells an invitation (through its ref) ---------------------------


class Answer(msgspec.Struct, frozen=True):
    """The callee accepts or refuses."""

    session: Any
    user_id: str
    rid: int
    accept: bool
    response: str


class Cancel(msgspec.Struct, frozen=True):
    """The caller cancels."""

    session: Any
    rid: int


class Acknowledged(msgspec.Struct, frozen=True):
    """A party's SDK acknowledged the push ``event``."""

    role: str
    event: str


class PartyGone(msgspec.Struct, frozen=True):
    """A party's session ended."""

    role: str


PartyInput = Answer | Cancel | Acknowledged | PartyGone

# -- what the desk tells a session ---------------------------------------------------


class PushInvitation(msgspec.Struct, frozen=True):
    """Desk -> session: push ``frame`` reliably; report its acknowledgement to ``actor``."""

    frame: InvitationEvent
    role: str
    actor: Any


class Involve(msgspec.Struct, frozen=True):
    """Desk -> session: you take part as ``role``; tell ``actor`` if you end."""

    actor: Any
    role: str
    key: InvitationKey


class Uninvolve(msgspec.Struct, frozen=True):
    """Desk -> session: the invitation is over."""

    key: InvitationKey


# -- the desk's own inputs -------------------------------------------------------------


class StartInvitation(msgspec.Struct, frozen=True):
    """A caller's session sent a new invitation (the session checked it and its limits)."""

    key: InvitationKey
    caller: Any
    callee_id: str
    content: str
    channel_id: str


class ToInvitation(msgspec.Struct, frozen=True):
    """A party's input for the invitation ``key`` (what an ``InvitationRef`` hands on)."""

    key: InvitationKey
    message: PartyInput


class CalleeOnline(msgspec.Struct, frozen=True):
    """A callee that invitations wait for logged in (here or on another node)."""

    app_id: str
    user_id: str


class WheelTurn(msgspec.Struct, frozen=True):
    """The desk's one loop timer ran out: some invitation timers may be due."""


class CountInvitations(msgspec.Struct, frozen=True):
    """Ask: what the desk holds (a ``DeskHeadcount``), for metrics and tests."""


class DeskHeadcount(msgspec.Struct, frozen=True):
    """The answer to ``CountInvitations``: all three are zero on an idle node."""

    invitations: int
    timers: int
    callees_waited_for: int


DeskMessage = StartInvitation | ToInvitation | CalleeOnline | WheelTurn | CountInvitations


class InvitationRef:
    """One invitation on this node's desk, as its parties' sessions hold it.

    Its ``tell`` takes what a session says to the invitation and hands it to the desk
    with the key (in the teller's greenlet when the desk is idle: a desk turn is short
    and never waits). It holds no state of the invitation: only where it lives.
    """

    __slots__ = ("desk", "key")

    def __init__(self, desk: Any, key: InvitationKey) -> None:
        self.desk = desk
        self.key = key

    def tell(self, message: PartyInput) -> None:
        """Hand ``message`` to the desk; raise ``ActorDeadError`` if the desk is gone."""
        if not tell_or_run_inline(self.desk, ToInvitation(self.key, message)):
            raise pykka.ActorDeadError(f"{self.desk} is stopped")

    def __repr__(self) -> str:
        return f"InvitationRef({self.key!r})"


class CalleeWatch:
    """The desk's presence watch on a callee it waits for: turns the callee's login into
    ``CalleeOnline`` (presence updates name the user, not the app). One per waited-for
    callee, dropped with the last invitation that waits for it."""

    __slots__ = ("app_id", "desk")

    def __init__(self, desk: Any, app_id: str) -> None:
        self.desk = desk
        self.app_id = app_id

    def tell(self, message: PresenceUpdate) -> None:
        """Hand a callee's login to the desk; other states wait on nothing."""
        if message.state == PeerOnlineState.ONLINE:
            tell_or_run_inline(self.desk, CalleeOnline(self.app_id, message.user_id))


def start_invitation(
    ctx: DeskHolder, key: InvitationKey, caller: Any, callee_id: str, content: str, channel_id: str
) -> InvitationRef:
    """Start an invitation on the node's desk; answer the caller's ref to it."""
    desk = ctx.invitation_desk
    if desk is None:
        raise RuntimeError("the node's invitation desk is not running")
    tell_or_run_inline(desk, StartInvitation(key, caller, callee_id, content, channel_id))
    return InvitationRef(desk, key)


def invitation_ref(ctx: DeskHolder, key: InvitationKey) -> InvitationRef:
    """The ref to invitation ``key`` on this node (the desk answers ALREADY_END to a
    request for one that is not, or no longer, in flight)."""
    return InvitationRef(ctx.invitation_desk, key)


def invitations_in_flight(ctx: DeskHolder, timeout: float = 5.0) -> int:
    """How many invitations the node's desk holds (asks it: for metrics and tests)."""
    return desk_headcount(ctx, timeout).invitations


def desk_headcount(ctx: DeskHolder, timeout: float = 5.0) -> DeskHeadcount:
    """What the node's desk holds: invitations, their running timers, callees waited for."""
    desk = ctx.invitation_desk
    if desk is None or not desk.is_alive():
        return DeskHeadcount(0, 0, 0)
    headcount: DeskHeadcount = desk.ask(CountInvitations(), block=True, timeout=timeout)
    return headcount
