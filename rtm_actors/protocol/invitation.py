"""Call invitations (spec section 5) as three pure state machines.

Theory of operation
-------------------
The server decides every race. Each invitation in flight has one server-side machine
(``ServerInvitation``) that sees every input in one order: the caller's send and
cancel, the callee's receipt, accept and refuse, both sides leaving, and its timers.
The first input that ends the invitation wins, and the machine tells both sides the
same outcome. The two SDK-side machines (``LocalInvitation`` for the caller,
``RemoteInvitation`` for the callee) only move on the server's word, so both sides
always end in the same final state:

=====================  ============================  ============================
server outcome         caller (LocalInvitationState)  callee (RemoteInvitationState)
=====================  ============================  ============================
accepted               ACCEPTED_BY_REMOTE             ACCEPTED
refused                REFUSED_BY_REMOTE              REFUSED
canceled               CANCELED                       CANCELED (if it had it)
failed                 FAILURE (LocalInvitationErr)   FAILURE (RemoteInvitationErr)
=====================  ============================  ============================

The accept handshake: the callee accepts (``ACCEPT_SENT_TO_LOCAL``); the server
decides "accepted" and pushes it to the caller; once the caller's SDK acknowledges that
push (step 3 of Agora's handshake), the callee is told and reaches ``ACCEPTED``. The
server does not give up on the handshake while the caller's session lives, so a caller
on a slow link cannot end up accepted while its callee failed; if the caller's session
ends first, both fail, except in one window: a caller whose SDK got "accepted" but lost
its session before its acknowledgement reached the server stays accepted while the
callee fails with ACCEPT_FAILURE (docs/invitations.md, "Known gaps"). Machines never
read a clock: timers are the shell's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import msgspec

from rtm_actors.protocol.codes import (
    InvitationApiCallErrCode as Api,
    LocalInvitationErrCode as LocalErr,
    LocalInvitationState as L,
    RemoteInvitationErrCode as RemoteErr,
    RemoteInvitationState as R,
)


@dataclass(frozen=True, slots=True)
class InvitationTimings:
    """Agora's invitation timings (spec 5.3): offline retry, acknowledgement, expiry."""

    #: An invitation waits this long for an offline callee to log in, then fails
    #: (PEER_OFFLINE).
    offline_retry: float = 30.0
    #: An invitation the callee's SDK has not acknowledged fails after this long
    #: (PEER_NO_RESPONSE).
    no_ack: float = 30.0
    #: An invitation not yet accepted, refused or canceled fails after this long
    #: (INVITATION_EXPIRE).
    expire: float = 60.0


class InvitationOutcome(Enum):
    """How an invitation ended, as the server tells both sides (wire values)."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    CANCELED = "canceled"
    FAILED = "failed"


# -- the caller's side ---------------------------------------------------------------

LOCAL_TERMINAL = frozenset({L.ACCEPTED_BY_REMOTE, L.REFUSED_BY_REMOTE, L.CANCELED, L.FAILURE})
REMOTE_TERMINAL = frozenset({R.ACCEPTED, R.REFUSED, R.CANCELED, R.FAILURE})


class LocalInvitation:
    """The caller's invitation: API checks, and the state the server's events give it."""

    def __init__(self) -> None:
        self.state = L.IDLE
        self.error = LocalErr.OK

    def send(self, *, logged_in: bool) -> Api:
        """``send_local_invitation``; not logged in fails the invitation at once."""
        if self.state in LOCAL_TERMINAL:
            return Api.ALREADY_END
        if self.state is not L.IDLE:
            return Api.ALREADY_SENT
        if not logged_in:
            self.state, self.error = L.FAILURE, LocalErr.NOT_LOGGEDIN
            return Api.OK
        self.state = L.SENT_TO_REMOTE
        return Api.OK

    def cancel(self) -> Api:
        """``cancel_local_invitation``: asks the server; the outcome arrives as an event."""
        if self.state is L.IDLE:
            return Api.NOT_STARTED
        if self.state in LOCAL_TERMINAL:
            return Api.ALREADY_END
        return Api.OK

    def received_by_peer(self) -> bool:
        """The callee's SDK has it; answer whether that is news."""
        if self.state is L.SENT_TO_REMOTE:
            self.state = L.RECEIVED_BY_REMOTE
            return True
        return False

    def ended(self, outcome: InvitationOutcome, code: int = 0) -> bool:
        """The server's final word; answer whether it changed anything."""
        if self.state in LOCAL_TERMINAL or self.state is L.IDLE:
            return False
        self.state = _LOCAL_END[outcome]
        if outcome is InvitationOutcome.FAILED:
            self.error = (
                LocalErr(code) if code in LocalErr._value2member_map_ else LocalErr.PEER_OFFLINE
            )
        return True

    def session_lost(self) -> bool:
        """The caller's session ended (logout, kick, or past the grace period)."""
        if self.state in (L.SENT_TO_REMOTE, L.RECEIVED_BY_REMOTE):
            self.state, self.error = L.FAILURE, LocalErr.NOT_LOGGEDIN
            return True
        return False

    def refused_at_send(self) -> bool:
        """The server did not start it (over the caller's invitation limits): it ends
        as an invitation that expired unanswered, the nearest of Agora's codes."""
        if self.state is L.SENT_TO_REMOTE:
            self.state, self.error = L.FAILURE, LocalErr.INVITATION_EXPIRE
            return True
        return False


_LOCAL_END = {
    InvitationOutcome.ACCEPTED: L.ACCEPTED_BY_REMOTE,
    InvitationOutcome.REFUSED: L.REFUSED_BY_REMOTE,
    InvitationOutcome.CANCELED: L.CANCELED,
    InvitationOutcome.FAILED: L.FAILURE,
}


# -- the callee's side ---------------------------------------------------------------


class RemoteInvitation:
    """The callee's invitation: created when it arrives."""

    def __init__(self) -> None:
        self.state = R.INVITATION_RECEIVED
        self.error = RemoteErr.OK
        self._answered = False

    def accept(self) -> Api:
        """``accept_remote_invitation``: ``ACCEPT_SENT_TO_LOCAL`` until the server confirms."""
        if self.state in (R.ACCEPT_SENT_TO_LOCAL, R.ACCEPTED):
            return Api.ALREADY_ACCEPT
        if self.state in REMOTE_TERMINAL or self._answered:
            return Api.ALREADY_END
        self.state = R.ACCEPT_SENT_TO_LOCAL
        self._answered = True
        return Api.OK

    def refuse(self) -> Api:
        """``refuse_remote_invitation``: the server confirms (a cancel may win the race)."""
        if self.state in (R.ACCEPT_SENT_TO_LOCAL, R.ACCEPTED):
            return Api.ALREADY_ACCEPT
        if self.state in REMOTE_TERMINAL or self._answered:
            return Api.ALREADY_END
        self._answered = True
        return Api.OK

    def ended(self, outcome: InvitationOutcome, code: int = 0) -> bool:
        """The server's final word; answer whether it changed anything."""
        if self.state in REMOTE_TERMINAL:
            return False
        self.state = _REMOTE_END[outcome]
        if outcome is InvitationOutcome.FAILED:
            self.error = (
                RemoteErr(code) if code in RemoteErr._value2member_map_ else RemoteErr.PEER_OFFLINE
            )
        return True

    def session_lost(self) -> bool:
        """The callee's session ended: the invitation cannot go on."""
        if self.state in REMOTE_TERMINAL:
            return False
        self.state, self.error = R.FAILURE, RemoteErr.PEER_OFFLINE
        return True


_REMOTE_END = {
    InvitationOutcome.ACCEPTED: R.ACCEPTED,
    InvitationOutcome.REFUSED: R.REFUSED,
    InvitationOutcome.CANCELED: R.CANCELED,
    InvitationOutcome.FAILED: R.FAILURE,
}


# -- the server's machine ------------------------------------------------------------


class InvitationPhase(Enum):
    """Where an invitation stands on the server."""

    PENDING = "pending"  # callee offline: waiting up to 30 s for it to log in
    DELIVERED = "delivered"  # pushed to the callee, not yet acknowledged
    RECEIVED = "received"  # the callee's SDK has it
    ACCEPTING = "accepting"  # accepted; waiting for the caller's SDK to have the news
    DONE = "done"


class InvitationTimer(Enum):
    """The server machine's timers."""

    OFFLINE = "offline"
    NO_ACK = "no_ack"
    EXPIRE = "expire"

    # Members are singletons compared by identity: hashed by identity too (Enum's own
    # hash is Python code, and a shell hashes each timer it starts and stops).
    __hash__ = object.__hash__


# The effects are msgspec structs: ~0.1 us to make, against ~1 us for a frozen
# dataclass, and an accepted invitation makes seven.


class ToCallee(msgspec.Struct, frozen=True):
    """Push to the callee: ``event`` is "received" or an ``InvitationOutcome`` value."""

    event: str
    code: int = 0


class ToCaller(msgspec.Struct, frozen=True):
    """Push to the caller: "received_by_peer" or an ``InvitationOutcome`` value."""

    event: str
    code: int = 0


class StartInvitationTimer(msgspec.Struct, frozen=True):
    """Start a timer."""

    timer: InvitationTimer
    delay: float


class WatchCallee(msgspec.Struct, frozen=True):
    """Tell the machine when the callee logs in."""


class Finished(msgspec.Struct, frozen=True):
    """The invitation is over: stop timers, forget it."""

    outcome: InvitationOutcome


ServerEffect = ToCallee | ToCaller | StartInvitationTimer | WatchCallee | Finished

#: The acknowledgements ``ServerInvitation`` takes as inputs, as (role, event): the
#: callee's SDK has the invitation (``callee_acknowledged``), the caller's has the
#: acceptance (``caller_acknowledged_accept``). A party's session reports these and no
#: others: the rest change nothing, and each report is a turn of the invitation's owner
#: (a publish, when it lives on another node).
ACKNOWLEDGED_EVENTS = frozenset({("callee", "received"), ("caller", "accepted")})


class ServerInvitation:
    """One invitation on the server; every input in one order, first ending wins."""

    def __init__(self, timings: InvitationTimings | None = None) -> None:
        self.timings = timings or InvitationTimings()
        self.phase = InvitationPhase.PENDING
        self.outcome: InvitationOutcome | None = None
        self.callee_has_it = False
        self._started = False

    def start(self, *, callee_online: bool) -> list[ServerEffect]:
        """The caller sent it."""
        if self._started:
            return []
        self._started = True
        expire = StartInvitationTimer(InvitationTimer.EXPIRE, self.timings.expire)
        if callee_online:
            return [expire, *self._deliver()]
        return [
            expire,
            StartInvitationTimer(InvitationTimer.OFFLINE, self.timings.offline_retry),
            WatchCallee(),
        ]

    def callee_online(self) -> list[ServerEffect]:
        """The callee logged in while the invitation waited for it."""
        return self._deliver() if self.phase is InvitationPhase.PENDING else []

    def callee_acknowledged(self) -> list[ServerEffect]:
        """The callee's SDK has the invitation."""
        if self.phase is not InvitationPhase.DELIVERED:
            return []
        self.phase = InvitationPhase.RECEIVED
        return [ToCaller("received_by_peer")]

    def accept(self) -> tuple[Api, list[ServerEffect]]:
        """The callee accepts."""
        if self.phase is InvitationPhase.ACCEPTING:
            return Api.ALREADY_ACCEPT, []
        if self.phase not in (InvitationPhase.DELIVERED, InvitationPhase.RECEIVED):
            return Api.ALREADY_END, []
        self.phase = InvitationPhase.ACCEPTING
        return Api.OK, [ToCaller(InvitationOutcome.ACCEPTED.value)]

    def caller_acknowledged_accept(self) -> list[ServerEffect]:
        """The caller's SDK has the acceptance: the handshake is complete."""
        if self.phase is not InvitationPhase.ACCEPTING:
            return []
        return self._finish(
            InvitationOutcome.ACCEPTED,
            to_caller=None,
            to_callee=ToCallee(InvitationOutcome.ACCEPTED.value),
        )

    def refuse(self) -> tuple[Api, list[ServerEffect]]:
        """The callee refuses."""
        if self.phase is InvitationPhase.ACCEPTING:
            return Api.ALREADY_ACCEPT, []
        if self.phase not in (InvitationPhase.DELIVERED, InvitationPhase.RECEIVED):
            return Api.ALREADY_END, []
        return Api.OK, self._finish(InvitationOutcome.REFUSED)

    def cancel(self) -> tuple[Api, list[ServerEffect]]:
        """The caller cancels (too late once the callee accepted)."""
        if self.phase in (InvitationPhase.ACCEPTING, InvitationPhase.DONE):
            return Api.ALREADY_END, []
        return Api.OK, self._finish(InvitationOutcome.CANCELED)

    def timer_fired(self, timer: InvitationTimer) -> list[ServerEffect]:
        """A timer ran out."""
        if timer is InvitationTimer.OFFLINE and self.phase is InvitationPhase.PENDING:
            return self._finish(InvitationOutcome.FAILED, LocalErr.PEER_OFFLINE)
        if timer is InvitationTimer.NO_ACK and self.phase is InvitationPhase.DELIVERED:
            return self._finish(
                InvitationOutcome.FAILED, LocalErr.PEER_NO_RESPONSE, RemoteErr.INVITATION_EXPIRE
            )
        if timer is InvitationTimer.EXPIRE and self.phase in (
            InvitationPhase.PENDING,
            InvitationPhase.DELIVERED,
            InvitationPhase.RECEIVED,
        ):
            return self._finish(
                InvitationOutcome.FAILED, LocalErr.INVITATION_EXPIRE, RemoteErr.INVITATION_EXPIRE
            )
        return []

    def caller_gone(self) -> list[ServerEffect]:
        """The caller's session ended; its SDK fails the invitation on its own."""
        if self.phase is InvitationPhase.DONE:
            return []
        code = (
            RemoteErr.ACCEPT_FAILURE
            if self.phase is InvitationPhase.ACCEPTING
            else RemoteErr.PEER_OFFLINE
        )
        callee = ToCallee(InvitationOutcome.FAILED.value, code) if self.callee_has_it else None
        return self._finish(InvitationOutcome.FAILED, to_caller=None, to_callee=callee)

    def callee_gone(self) -> list[ServerEffect]:
        """The callee's session ended before it answered."""
        if self.phase not in (InvitationPhase.DELIVERED, InvitationPhase.RECEIVED):
            return []
        caller = ToCaller(InvitationOutcome.FAILED.value, LocalErr.PEER_OFFLINE)
        return self._finish(InvitationOutcome.FAILED, to_caller=caller, to_callee=None)

    # -- helpers ---------------------------------------------------------------------

    def _deliver(self) -> list[ServerEffect]:
        self.phase = InvitationPhase.DELIVERED
        self.callee_has_it = True
        return [
            ToCallee("received"),
            StartInvitationTimer(InvitationTimer.NO_ACK, self.timings.no_ack),
        ]

    def _finish(
        self,
        outcome: InvitationOutcome,
        caller_code: int = 0,
        callee_code: int = 0,
        *,
        to_caller: ToCaller | bool | None = True,
        to_callee: ToCallee | bool | None = True,
    ) -> list[ServerEffect]:
        self.phase = InvitationPhase.DONE
        self.outcome = outcome
        effects: list[ServerEffect] = []
        if isinstance(to_callee, ToCallee):
            effects.append(to_callee)
        elif to_callee and self.callee_has_it:
            effects.append(ToCallee(outcome.value, callee_code))
        if isinstance(to_caller, ToCaller):
            effects.append(to_caller)
        elif to_caller:
            effects.append(ToCaller(outcome.value, caller_code))
        return [*effects, Finished(outcome)]
