"""The call-invitation machines: every state x every input, then one invitation end to end.

Part 1 drives each pure machine (``LocalInvitation``, ``RemoteInvitation``,
``ServerInvitation``) into every state it can reach and feeds it every input, checking the
answer, the next state and the exact effect list against tables written from spec
section 5 and the module docstring. Part 2 wires the three machines together the way the
shells do (``server/invitation_actor.py``, ``client/calls.py``) in ``Sim``: each party's
session is a FIFO of pushes, delivered to the SDK and acknowledged later in order; timers
fire and parties leave at any point. Every reachable state of that system is explored
breadth-first, and Hypothesis runs random action lists with random timings on top. Part 3
checks that ``InvitationTimings`` reach the ``StartInvitationTimer`` effects.

The departure rule the code implements (asserted in ``Sim.check_final``):

* a party that stays ends in the server's outcome (the callee only if it got the
  invitation); with nobody leaving both sides therefore agree;
* a caller leaving before the server decided makes the outcome FAILED: it ends FAILURE
  (NOT_LOGGEDIN) and the callee FAILURE if it had the invitation -- except a caller whose
  SDK already got "accepted" but whose acknowledgement never reached the server: it stays
  ACCEPTED_BY_REMOTE while the callee fails with ACCEPT_FAILURE;
* a callee leaving while DELIVERED/RECEIVED makes the outcome FAILED (caller PEER_OFFLINE);
  leaving while ACCEPTING does not: the server completes the handshake with the caller
  (ACCEPTED) and only the callee's own SDK fails;
* a party leaving after the server decided ends in the outcome if that push reached its
  SDK first, else FAILURE.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from rtm_actors.protocol.codes import (
    InvitationApiCallErrCode as Api,
    LocalInvitationErrCode as LocalErr,
    LocalInvitationState as L,
    RemoteInvitationErrCode as RemoteErr,
    RemoteInvitationState as R,
)
from rtm_actors.protocol.invitation import (
    LOCAL_TERMINAL,
    REMOTE_TERMINAL,
    Finished,
    InvitationOutcome,
    InvitationPhase,
    InvitationTimer,
    InvitationTimings,
    LocalInvitation,
    RemoteInvitation,
    ServerEffect,
    ServerInvitation,
    StartInvitationTimer,
    ToCallee,
    ToCaller,
    WatchCallee,
)

EFFECT_TYPES = ServerEffect.__args__  # type: ignore[attr-defined]
LOCAL_END = {
    InvitationOutcome.ACCEPTED: L.ACCEPTED_BY_REMOTE,
    InvitationOutcome.REFUSED: L.REFUSED_BY_REMOTE,
    InvitationOutcome.CANCELED: L.CANCELED,
    InvitationOutcome.FAILED: L.FAILURE,
}
REMOTE_END = {
    InvitationOutcome.ACCEPTED: R.ACCEPTED,
    InvitationOutcome.REFUSED: R.REFUSED,
    InvitationOutcome.CANCELED: R.CANCELED,
    InvitationOutcome.FAILED: R.FAILURE,
}
AGREEING = {(LOCAL_END[o], REMOTE_END[o]) for o in InvitationOutcome}
UNKNOWN_CODE = 99


def test_terminal_sets_match_the_spec() -> None:
    """The terminal states are the spec's: accepted, refused, canceled, failure."""
    assert {L.ACCEPTED_BY_REMOTE, L.REFUSED_BY_REMOTE, L.CANCELED, L.FAILURE} == LOCAL_TERMINAL
    assert {R.ACCEPTED, R.REFUSED, R.CANCELED, R.FAILURE} == REMOTE_TERMINAL
    assert {o.value for o in InvitationOutcome} == {"accepted", "refused", "canceled", "failed"}


# == Part 1a: the caller's machine ===================================================

LOCAL_INPUTS: dict[str, Callable[[LocalInvitation], object]] = {
    "send": lambda m: m.send(logged_in=True),
    "send_logged_out": lambda m: m.send(logged_in=False),
    "cancel": lambda m: m.cancel(),
    "received_by_peer": lambda m: m.received_by_peer(),
    "ended_accepted": lambda m: m.ended(InvitationOutcome.ACCEPTED),
    "ended_accepted_with_code": lambda m: m.ended(
        InvitationOutcome.ACCEPTED, LocalErr.NOT_LOGGEDIN
    ),
    "ended_refused": lambda m: m.ended(InvitationOutcome.REFUSED),
    "ended_canceled": lambda m: m.ended(InvitationOutcome.CANCELED),
    "ended_failed_peer_offline": lambda m: m.ended(InvitationOutcome.FAILED, LocalErr.PEER_OFFLINE),
    "ended_failed_no_response": lambda m: m.ended(
        InvitationOutcome.FAILED, LocalErr.PEER_NO_RESPONSE
    ),
    "ended_failed_expire": lambda m: m.ended(InvitationOutcome.FAILED, LocalErr.INVITATION_EXPIRE),
    "ended_failed_not_loggedin": lambda m: m.ended(InvitationOutcome.FAILED, LocalErr.NOT_LOGGEDIN),
    "ended_failed_unknown_code": lambda m: m.ended(InvitationOutcome.FAILED, UNKNOWN_CODE),
    "ended_failed_no_code": lambda m: m.ended(InvitationOutcome.FAILED),
    "session_lost": lambda m: m.session_lost(),
}

# name -> (inputs that get there, state, error)
LOCAL_SETUPS: dict[str, tuple[list[str], L, LocalErr]] = {
    "idle": ([], L.IDLE, LocalErr.OK),
    "sent": (["send"], L.SENT_TO_REMOTE, LocalErr.OK),
    "received": (["send", "received_by_peer"], L.RECEIVED_BY_REMOTE, LocalErr.OK),
    "accepted": (["send", "received_by_peer", "ended_accepted"], L.ACCEPTED_BY_REMOTE, LocalErr.OK),
    "accepted_unreceived": (["send", "ended_accepted"], L.ACCEPTED_BY_REMOTE, LocalErr.OK),
    "refused": (["send", "received_by_peer", "ended_refused"], L.REFUSED_BY_REMOTE, LocalErr.OK),
    "canceled": (["send", "ended_canceled"], L.CANCELED, LocalErr.OK),
    "failed_not_logged_in": (["send_logged_out"], L.FAILURE, LocalErr.NOT_LOGGEDIN),
    "failed_no_response": (
        ["send", "ended_failed_no_response"],
        L.FAILURE,
        LocalErr.PEER_NO_RESPONSE,
    ),
    "failed_session_lost": (
        ["send", "received_by_peer", "session_lost"],
        L.FAILURE,
        LocalErr.NOT_LOGGEDIN,
    ),
}


def local_in(setup: str) -> LocalInvitation:
    m = LocalInvitation()
    for name in LOCAL_SETUPS[setup][0]:
        LOCAL_INPUTS[name](m)
    return m


# (answer, next state, next error); None keeps the state / error as it was.
Row = tuple[object, Any, Any]

# Sent or received by the peer: the server's word ends it.
_LOCAL_LIVE: dict[str, Row] = {
    "send": (Api.ALREADY_SENT, None, None),
    "send_logged_out": (Api.ALREADY_SENT, None, None),
    "cancel": (Api.OK, None, None),  # asks the server; the outcome arrives as an event
    "received_by_peer": (True, L.RECEIVED_BY_REMOTE, LocalErr.OK),
    "ended_accepted": (True, L.ACCEPTED_BY_REMOTE, LocalErr.OK),
    "ended_accepted_with_code": (True, L.ACCEPTED_BY_REMOTE, LocalErr.OK),
    "ended_refused": (True, L.REFUSED_BY_REMOTE, LocalErr.OK),
    "ended_canceled": (True, L.CANCELED, LocalErr.OK),
    "ended_failed_peer_offline": (True, L.FAILURE, LocalErr.PEER_OFFLINE),
    "ended_failed_no_response": (True, L.FAILURE, LocalErr.PEER_NO_RESPONSE),
    "ended_failed_expire": (True, L.FAILURE, LocalErr.INVITATION_EXPIRE),
    "ended_failed_not_loggedin": (True, L.FAILURE, LocalErr.NOT_LOGGEDIN),
    "ended_failed_unknown_code": (True, L.FAILURE, LocalErr.PEER_OFFLINE),
    # The server never sends "failed" without a code; the machine passes 0 through.
    "ended_failed_no_code": (True, L.FAILURE, LocalErr.OK),
    "session_lost": (True, L.FAILURE, LocalErr.NOT_LOGGEDIN),
}

LOCAL_TABLE: dict[L, dict[str, Row]] = {
    L.IDLE: {
        "send": (Api.OK, L.SENT_TO_REMOTE, LocalErr.OK),
        "send_logged_out": (Api.OK, L.FAILURE, LocalErr.NOT_LOGGEDIN),
        "cancel": (Api.NOT_STARTED, None, None),
        **{name: (False, None, None) for name in LOCAL_INPUTS if name.startswith("ended_")},
        "received_by_peer": (False, None, None),
        "session_lost": (False, None, None),
    },
    L.SENT_TO_REMOTE: _LOCAL_LIVE,
    L.RECEIVED_BY_REMOTE: {**_LOCAL_LIVE, "received_by_peer": (False, None, None)},
    # Terminal: the API says ALREADY_END, events change nothing.
    **{
        state: {
            "send": (Api.ALREADY_END, None, None),
            "send_logged_out": (Api.ALREADY_END, None, None),
            "cancel": (Api.ALREADY_END, None, None),
            **{
                name: (False, None, None)
                for name in LOCAL_INPUTS
                if name not in ("send", "send_logged_out", "cancel")
            },
        }
        for state in LOCAL_TERMINAL
    },
}


def test_local_table_is_complete() -> None:
    """The caller's table has a row for every state x every input."""
    assert set(LOCAL_TABLE) == set(L)
    for rows in LOCAL_TABLE.values():
        assert set(rows) == set(LOCAL_INPUTS)
    assert {state for _, state, _ in LOCAL_SETUPS.values()} == set(L)


@pytest.mark.parametrize("setup", LOCAL_SETUPS)
def test_local_setups_reach_their_states(setup: str) -> None:
    """Each caller set-up helper puts the machine in the state and error its name says."""
    m = local_in(setup)
    _, state, error = LOCAL_SETUPS[setup]
    assert (m.state, m.error) == (state, error)


@pytest.mark.parametrize("name", LOCAL_INPUTS)
@pytest.mark.parametrize("setup", LOCAL_SETUPS)
def test_local_table(setup: str, name: str) -> None:
    """Every caller state x every input gives the table's answer, state and error."""
    m = local_in(setup)
    before = (m.state, m.error)
    answer, state, error = LOCAL_TABLE[m.state][name]
    got = LOCAL_INPUTS[name](m)
    assert got is answer
    assert type(got) is type(answer)
    assert m.state is (before[0] if state is None else state)
    assert m.error is (before[1] if error is None else error)
    assert isinstance(m.state, L)
    assert isinstance(m.error, LocalErr)


def test_local_initial_state() -> None:
    """A new caller invitation is IDLE with no error."""
    m = LocalInvitation()
    assert (m.state, m.error) == (L.IDLE, LocalErr.OK)


# == Part 1b: the callee's machine ===================================================

REMOTE_INPUTS: dict[str, Callable[[RemoteInvitation], object]] = {
    "accept": lambda m: m.accept(),
    "refuse": lambda m: m.refuse(),
    "ended_accepted": lambda m: m.ended(InvitationOutcome.ACCEPTED),
    "ended_accepted_with_code": lambda m: m.ended(
        InvitationOutcome.ACCEPTED, RemoteErr.ACCEPT_FAILURE
    ),
    "ended_refused": lambda m: m.ended(InvitationOutcome.REFUSED),
    "ended_canceled": lambda m: m.ended(InvitationOutcome.CANCELED),
    "ended_failed_peer_offline": lambda m: m.ended(
        InvitationOutcome.FAILED, RemoteErr.PEER_OFFLINE
    ),
    "ended_failed_accept_failure": lambda m: m.ended(
        InvitationOutcome.FAILED, RemoteErr.ACCEPT_FAILURE
    ),
    "ended_failed_expire": lambda m: m.ended(InvitationOutcome.FAILED, RemoteErr.INVITATION_EXPIRE),
    "ended_failed_unknown_code": lambda m: m.ended(InvitationOutcome.FAILED, UNKNOWN_CODE),
    "ended_failed_no_code": lambda m: m.ended(InvitationOutcome.FAILED),
    "session_lost": lambda m: m.session_lost(),
}

# name -> (inputs that get there, state, error, table key)
REMOTE_SETUPS: dict[str, tuple[list[str], R, RemoteErr, str]] = {
    "received": ([], R.INVITATION_RECEIVED, RemoteErr.OK, "open"),
    "refuse_sent": (["refuse"], R.INVITATION_RECEIVED, RemoteErr.OK, "refuse_sent"),
    "accept_sent": (["accept"], R.ACCEPT_SENT_TO_LOCAL, RemoteErr.OK, "accept_sent"),
    "accepted": (["accept", "ended_accepted"], R.ACCEPTED, RemoteErr.OK, "accepted"),
    "refused": (["refuse", "ended_refused"], R.REFUSED, RemoteErr.OK, "ended"),
    "canceled": (["ended_canceled"], R.CANCELED, RemoteErr.OK, "ended"),
    "canceled_after_accept": (["accept", "ended_canceled"], R.CANCELED, RemoteErr.OK, "ended"),
    "canceled_after_refuse": (["refuse", "ended_canceled"], R.CANCELED, RemoteErr.OK, "ended"),
    "failed_expire": (["ended_failed_expire"], R.FAILURE, RemoteErr.INVITATION_EXPIRE, "ended"),
    "failed_accept_failure": (
        ["accept", "ended_failed_accept_failure"],
        R.FAILURE,
        RemoteErr.ACCEPT_FAILURE,
        "ended",
    ),
    "failed_session_lost": (["session_lost"], R.FAILURE, RemoteErr.PEER_OFFLINE, "ended"),
}


def remote_in(setup: str) -> RemoteInvitation:
    m = RemoteInvitation()
    for name in REMOTE_SETUPS[setup][0]:
        REMOTE_INPUTS[name](m)
    return m


# Not yet ended: the server's word ends it, whatever the callee answered.
_REMOTE_EVENTS: dict[str, Row] = {
    "ended_accepted": (True, R.ACCEPTED, RemoteErr.OK),
    "ended_accepted_with_code": (True, R.ACCEPTED, RemoteErr.OK),
    "ended_refused": (True, R.REFUSED, RemoteErr.OK),
    "ended_canceled": (True, R.CANCELED, RemoteErr.OK),
    "ended_failed_peer_offline": (True, R.FAILURE, RemoteErr.PEER_OFFLINE),
    "ended_failed_accept_failure": (True, R.FAILURE, RemoteErr.ACCEPT_FAILURE),
    "ended_failed_expire": (True, R.FAILURE, RemoteErr.INVITATION_EXPIRE),
    "ended_failed_unknown_code": (True, R.FAILURE, RemoteErr.PEER_OFFLINE),
    # The server never sends "failed" without a code; the machine passes 0 through.
    "ended_failed_no_code": (True, R.FAILURE, RemoteErr.OK),
    "session_lost": (True, R.FAILURE, RemoteErr.PEER_OFFLINE),
}
_REMOTE_OVER: dict[str, Row] = dict.fromkeys(_REMOTE_EVENTS, (False, None, None))

REMOTE_TABLE: dict[str, dict[str, Row]] = {
    # INVITATION_RECEIVED, not answered: refuse keeps the state until the server confirms.
    "open": {
        "accept": (Api.OK, R.ACCEPT_SENT_TO_LOCAL, RemoteErr.OK),
        "refuse": (Api.OK, None, None),
        **_REMOTE_EVENTS,
    },
    # INVITATION_RECEIVED, refusal sent: a second answer is too late.
    "refuse_sent": {
        "accept": (Api.ALREADY_END, None, None),
        "refuse": (Api.ALREADY_END, None, None),
        **_REMOTE_EVENTS,
    },
    "accept_sent": {
        "accept": (Api.ALREADY_ACCEPT, None, None),
        "refuse": (Api.ALREADY_ACCEPT, None, None),
        **_REMOTE_EVENTS,
    },
    # Spec 5.5 "ACCEPT_SENT_TO_LOCAL / ACCEPTED: accept again -> ALREADY_ACCEPT" wins over
    # "any terminal -> ALREADY_END"; the machine answers refuse the same way.
    "accepted": {
        "accept": (Api.ALREADY_ACCEPT, None, None),
        "refuse": (Api.ALREADY_ACCEPT, None, None),
        **_REMOTE_OVER,
    },
    "ended": {
        "accept": (Api.ALREADY_END, None, None),
        "refuse": (Api.ALREADY_END, None, None),
        **_REMOTE_OVER,
    },
}


def test_remote_table_is_complete() -> None:
    """The callee's table has a row for every kind of state x every input."""
    for rows in REMOTE_TABLE.values():
        assert set(rows) == set(REMOTE_INPUTS)
    assert {state for _, state, _, _ in REMOTE_SETUPS.values()} == set(R) - {R.IDLE}
    assert {key for *_, key in REMOTE_SETUPS.values()} == set(REMOTE_TABLE)


@pytest.mark.parametrize("setup", REMOTE_SETUPS)
def test_remote_setups_reach_their_states(setup: str) -> None:
    """Each callee set-up helper puts the machine in the state and error its name says."""
    m = remote_in(setup)
    _, state, error, _ = REMOTE_SETUPS[setup]
    assert (m.state, m.error) == (state, error)


@pytest.mark.parametrize("name", REMOTE_INPUTS)
@pytest.mark.parametrize("setup", REMOTE_SETUPS)
def test_remote_table(setup: str, name: str) -> None:
    """Every callee state x every input gives the table's answer, state and error."""
    m = remote_in(setup)
    before = (m.state, m.error)
    answer, state, error = REMOTE_TABLE[REMOTE_SETUPS[setup][3]][name]
    got = REMOTE_INPUTS[name](m)
    assert got is answer
    assert type(got) is type(answer)
    assert m.state is (before[0] if state is None else state)
    assert m.error is (before[1] if error is None else error)
    assert isinstance(m.state, R)
    assert isinstance(m.error, RemoteErr)


def test_remote_initial_state() -> None:
    """A callee invitation is created INVITATION_RECEIVED (never IDLE) with no error."""
    m = RemoteInvitation()
    assert (m.state, m.error) == (R.INVITATION_RECEIVED, RemoteErr.OK)


# == Part 1c: the server's machine ===================================================

TIMINGS = InvitationTimings(offline_retry=11.0, no_ack=22.0, expire=33.0)
EXPIRE_TIMER = StartInvitationTimer(InvitationTimer.EXPIRE, 33.0)
OFFLINE_TIMER = StartInvitationTimer(InvitationTimer.OFFLINE, 11.0)
NO_ACK_TIMER = StartInvitationTimer(InvitationTimer.NO_ACK, 22.0)
DELIVER = [ToCallee("received"), NO_ACK_TIMER]

ServerResult = tuple[Api | None, list[ServerEffect]]

SERVER_INPUTS: dict[str, Callable[[ServerInvitation], ServerResult]] = {
    "start_online": lambda s: (None, s.start(callee_online=True)),
    "start_offline": lambda s: (None, s.start(callee_online=False)),
    "callee_online": lambda s: (None, s.callee_online()),
    "callee_acknowledged": lambda s: (None, s.callee_acknowledged()),
    "accept": lambda s: s.accept(),
    "refuse": lambda s: s.refuse(),
    "cancel": lambda s: s.cancel(),
    "caller_acknowledged_accept": lambda s: (None, s.caller_acknowledged_accept()),
    "timer_offline": lambda s: (None, s.timer_fired(InvitationTimer.OFFLINE)),
    "timer_no_ack": lambda s: (None, s.timer_fired(InvitationTimer.NO_ACK)),
    "timer_expire": lambda s: (None, s.timer_fired(InvitationTimer.EXPIRE)),
    "caller_gone": lambda s: (None, s.caller_gone()),
    "callee_gone": lambda s: (None, s.callee_gone()),
}

# name -> (inputs that get there, phase, outcome, callee_has_it)
SERVER_SETUPS: dict[str, tuple[list[str], InvitationPhase, InvitationOutcome | None, bool]] = {
    "pending": (["start_offline"], InvitationPhase.PENDING, None, False),
    "delivered": (["start_online"], InvitationPhase.DELIVERED, None, True),
    "delivered_after_login": (
        ["start_offline", "callee_online"],
        InvitationPhase.DELIVERED,
        None,
        True,
    ),
    "received": (["start_online", "callee_acknowledged"], InvitationPhase.RECEIVED, None, True),
    "accepting": (
        ["start_online", "callee_acknowledged", "accept"],
        InvitationPhase.ACCEPTING,
        None,
        True,
    ),
    # The answer overtook the callee's acknowledgement of "received".
    "accepting_before_ack": (["start_online", "accept"], InvitationPhase.ACCEPTING, None, True),
    "done_accepted": (
        ["start_online", "callee_acknowledged", "accept", "caller_acknowledged_accept"],
        InvitationPhase.DONE,
        InvitationOutcome.ACCEPTED,
        True,
    ),
    "done_refused": (
        ["start_online", "callee_acknowledged", "refuse"],
        InvitationPhase.DONE,
        InvitationOutcome.REFUSED,
        True,
    ),
    "done_canceled": (
        ["start_online", "callee_acknowledged", "cancel"],
        InvitationPhase.DONE,
        InvitationOutcome.CANCELED,
        True,
    ),
    "done_canceled_pending": (
        ["start_offline", "cancel"],
        InvitationPhase.DONE,
        InvitationOutcome.CANCELED,
        False,
    ),
    "done_failed_offline": (
        ["start_offline", "timer_offline"],
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
        False,
    ),
    "done_failed_no_ack": (
        ["start_online", "timer_no_ack"],
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
        True,
    ),
    "done_failed_expire": (
        ["start_online", "callee_acknowledged", "timer_expire"],
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
        True,
    ),
    "done_caller_gone": (
        ["start_online", "callee_acknowledged", "accept", "caller_gone"],
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
        True,
    ),
    "done_callee_gone": (
        ["start_online", "callee_acknowledged", "callee_gone"],
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
        True,
    ),
}


def server_in(setup: str) -> ServerInvitation:
    s = ServerInvitation(TIMINGS)
    for name in SERVER_SETUPS[setup][0]:
        SERVER_INPUTS[name](s)
    return s


def _failed(
    outcome: InvitationOutcome = InvitationOutcome.FAILED, *, caller: int | None, callee: int | None
) -> list:
    """Both told (callee first, as the spec's cancel order), then Finished."""
    effects: list[ServerEffect] = []
    if callee is not None:
        effects.append(ToCallee(outcome.value, callee))
    if caller is not None:
        effects.append(ToCaller(outcome.value, caller))
    return [*effects, Finished(outcome)]


# (api code or None, effects, next phase or None for unchanged, outcome)
ServerRow = tuple[Api | None, list[ServerEffect], InvitationPhase | None, InvitationOutcome | None]

_CALLEE_HAS_IT: dict[str, ServerRow] = {
    "start_online": (None, [], None, None),  # the shell starts a machine once
    "start_offline": (None, [], None, None),
    "callee_online": (None, [], None, None),
    "callee_acknowledged": (None, [ToCaller("received_by_peer")], InvitationPhase.RECEIVED, None),
    "accept": (Api.OK, [ToCaller("accepted")], InvitationPhase.ACCEPTING, None),
    "refuse": (
        Api.OK,
        [ToCallee("refused"), ToCaller("refused"), Finished(InvitationOutcome.REFUSED)],
        InvitationPhase.DONE,
        InvitationOutcome.REFUSED,
    ),
    "cancel": (
        Api.OK,
        [ToCallee("canceled"), ToCaller("canceled"), Finished(InvitationOutcome.CANCELED)],
        InvitationPhase.DONE,
        InvitationOutcome.CANCELED,
    ),
    "caller_acknowledged_accept": (None, [], None, None),
    "timer_offline": (None, [], None, None),
    "timer_no_ack": (
        None,
        _failed(caller=LocalErr.PEER_NO_RESPONSE, callee=RemoteErr.INVITATION_EXPIRE),
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
    ),
    "timer_expire": (
        None,
        _failed(caller=LocalErr.INVITATION_EXPIRE, callee=RemoteErr.INVITATION_EXPIRE),
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
    ),
    "caller_gone": (
        None,
        _failed(caller=None, callee=RemoteErr.PEER_OFFLINE),
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
    ),
    "callee_gone": (
        None,
        _failed(caller=LocalErr.PEER_OFFLINE, callee=None),
        InvitationPhase.DONE,
        InvitationOutcome.FAILED,
    ),
}

SERVER_TABLE: dict[InvitationPhase, dict[str, ServerRow]] = {
    InvitationPhase.PENDING: {
        "start_online": (None, [], None, None),
        "start_offline": (None, [], None, None),
        "callee_online": (None, DELIVER, InvitationPhase.DELIVERED, None),
        "callee_acknowledged": (None, [], None, None),
        "accept": (Api.ALREADY_END, [], None, None),  # nothing to answer yet
        "refuse": (Api.ALREADY_END, [], None, None),
        "cancel": (
            Api.OK,
            [ToCaller("canceled"), Finished(InvitationOutcome.CANCELED)],  # the callee never had it
            InvitationPhase.DONE,
            InvitationOutcome.CANCELED,
        ),
        "caller_acknowledged_accept": (None, [], None, None),
        "timer_offline": (
            None,
            _failed(caller=LocalErr.PEER_OFFLINE, callee=None),
            InvitationPhase.DONE,
            InvitationOutcome.FAILED,
        ),
        "timer_no_ack": (None, [], None, None),
        "timer_expire": (
            None,
            _failed(caller=LocalErr.INVITATION_EXPIRE, callee=None),
            InvitationPhase.DONE,
            InvitationOutcome.FAILED,
        ),
        "caller_gone": (
            None,
            [Finished(InvitationOutcome.FAILED)],
            InvitationPhase.DONE,
            InvitationOutcome.FAILED,
        ),
        "callee_gone": (None, [], None, None),  # its session never took part
    },
    InvitationPhase.DELIVERED: _CALLEE_HAS_IT,
    InvitationPhase.RECEIVED: {
        **_CALLEE_HAS_IT,
        "callee_acknowledged": (None, [], None, None),
        "timer_no_ack": (None, [], None, None),  # acknowledged: only EXPIRE is left
    },
    # Accepted: waiting for the caller's SDK to acknowledge the "accepted" push.
    InvitationPhase.ACCEPTING: {
        **{name: (None, [], None, None) for name in SERVER_INPUTS},
        "accept": (Api.ALREADY_ACCEPT, [], None, None),
        "refuse": (Api.ALREADY_ACCEPT, [], None, None),
        "cancel": (Api.ALREADY_END, [], None, None),  # too late once the callee accepted
        "caller_acknowledged_accept": (
            None,
            [ToCallee("accepted"), Finished(InvitationOutcome.ACCEPTED)],
            InvitationPhase.DONE,
            InvitationOutcome.ACCEPTED,
        ),
        "caller_gone": (
            None,
            _failed(caller=None, callee=RemoteErr.ACCEPT_FAILURE),
            InvitationPhase.DONE,
            InvitationOutcome.FAILED,
        ),
        # callee_gone: the server keeps the handshake going with the caller (row above).
    },
    InvitationPhase.DONE: {
        **{name: (None, [], None, None) for name in SERVER_INPUTS},
        "accept": (Api.ALREADY_END, [], None, None),
        "refuse": (Api.ALREADY_END, [], None, None),
        "cancel": (Api.ALREADY_END, [], None, None),
    },
}


def test_server_table_is_complete() -> None:
    """The server's table has a row for every phase x every input; set-ups cover each phase."""
    assert set(SERVER_TABLE) == set(InvitationPhase)
    for rows in SERVER_TABLE.values():
        assert set(rows) == set(SERVER_INPUTS)
    assert {phase for _, phase, _, _ in SERVER_SETUPS.values()} == set(InvitationPhase)
    assert {o for *_, o, _ in SERVER_SETUPS.values()} == {None, *InvitationOutcome}


@pytest.mark.parametrize("setup", SERVER_SETUPS)
def test_server_setups_reach_their_phases(setup: str) -> None:
    """Each server set-up helper puts the machine in the phase and outcome its name says."""
    s = server_in(setup)
    _, phase, outcome, has_it = SERVER_SETUPS[setup]
    assert (s.phase, s.outcome, s.callee_has_it) == (phase, outcome, has_it)


@pytest.mark.parametrize("name", SERVER_INPUTS)
@pytest.mark.parametrize("setup", SERVER_SETUPS)
def test_server_table(setup: str, name: str) -> None:
    """Every server phase x every input gives the table's api code and exact effect list."""
    s = server_in(setup)
    phase, outcome, has_it = s.phase, s.outcome, s.callee_has_it
    code, effects, next_phase, next_outcome = SERVER_TABLE[phase][name]
    got_code, got_effects = SERVER_INPUTS[name](s)
    assert got_code is code
    assert got_effects == effects
    assert all(isinstance(e, EFFECT_TYPES) for e in got_effects)
    assert s.phase is (phase if next_phase is None else next_phase)
    assert s.outcome is (outcome if next_outcome is None else next_outcome)
    assert s.callee_has_it is (has_it or ToCallee("received") in got_effects)
    finishes = [e for e in got_effects if isinstance(e, Finished)]
    if phase is not InvitationPhase.DONE and s.phase is InvitationPhase.DONE:
        assert finishes == [Finished(s.outcome)]
        assert got_effects[-1] == finishes[0]
    else:
        assert finishes == []


def test_server_initial_state() -> None:
    """A new server machine waits (PENDING) with no outcome and the default timings."""
    s = ServerInvitation()
    assert (s.phase, s.outcome, s.callee_has_it) == (InvitationPhase.PENDING, None, False)
    assert s.timings == InvitationTimings()


def test_start_with_callee_online() -> None:
    """Starting with the callee online starts EXPIRE, pushes "received" and starts NO_ACK."""
    s = ServerInvitation(TIMINGS)
    assert s.start(callee_online=True) == [EXPIRE_TIMER, *DELIVER]
    assert (s.phase, s.callee_has_it) == (InvitationPhase.DELIVERED, True)


def test_start_with_callee_offline() -> None:
    """Starting with the callee offline starts EXPIRE and OFFLINE and watches the callee."""
    s = ServerInvitation(TIMINGS)
    assert s.start(callee_online=False) == [EXPIRE_TIMER, OFFLINE_TIMER, WatchCallee()]
    assert (s.phase, s.callee_has_it) == (InvitationPhase.PENDING, False)


@pytest.mark.parametrize("setup", SERVER_SETUPS)
def test_start_again_changes_nothing(setup: str) -> None:
    """A second start (whatever the phase) emits nothing and leaves the machine as it was."""
    s = server_in(setup)
    before = (s.phase, s.outcome, s.callee_has_it)
    assert s.start(callee_online=True) == []
    assert s.start(callee_online=False) == []
    assert (s.phase, s.outcome, s.callee_has_it) == before


# == Part 2: one invitation end to end ===============================================

CALLER_FAIL_CODE = {
    "timer:OFFLINE": LocalErr.PEER_OFFLINE,
    "timer:NO_ACK": LocalErr.PEER_NO_RESPONSE,
    "timer:EXPIRE": LocalErr.INVITATION_EXPIRE,
    "callee_gone": LocalErr.PEER_OFFLINE,
}
CALLEE_FAIL_CODE = {
    "timer:NO_ACK": RemoteErr.INVITATION_EXPIRE,
    "timer:EXPIRE": RemoteErr.INVITATION_EXPIRE,
}
UNDECIDED = (
    InvitationPhase.PENDING,
    InvitationPhase.DELIVERED,
    InvitationPhase.RECEIVED,
    InvitationPhase.ACCEPTING,
)


class Sim:
    """The server machine and both SDK machines, joined by each party's session window.

    A push goes into the party's FIFO (``to_caller``/``to_callee``); delivering hands the
    next one to the SDK machine as ``client/calls.py`` does; the SDK acknowledges what it
    got later, in order, and only the acknowledgements the server actor listens to
    ("received" from the callee, "accepted" from the caller) reach the server machine. A
    party leaving loses its undelivered and unacknowledged pushes; its SDK calls
    ``session_lost`` and the server machine gets ``caller_gone``/``callee_gone``.
    """

    def __init__(self, timings: InvitationTimings = TIMINGS, *, callee_online: bool) -> None:
        self.timings = timings
        self.server = ServerInvitation(timings)
        self.local = LocalInvitation()
        self.remote: RemoteInvitation | None = None
        self.to_caller: deque[ToCaller] = deque()
        self.to_callee: deque[ToCallee] = deque()
        self.caller_unacked: deque[str] = deque()
        self.callee_unacked: deque[str] = deque()
        self.caller_pushed: list[str] = []  # everything the server pushed, delivered or not
        self.callee_pushed: list[str] = []
        self.caller_got: list[str] = []  # what reached the SDK machines
        self.callee_got: list[str] = []
        self.caller_left_in: InvitationPhase | None = None  # the server's phase when the party left
        self.callee_left_in: InvitationPhase | None = None
        self.finished: InvitationOutcome | None = None
        self.ended_by: str | None = None  # the input that made the server finish
        self.started: dict[InvitationTimer, float] = {}
        self.fired: set[InvitationTimer] = set()
        self.caller_acked: list[str] = []
        self.trace: list[tuple[str, InvitationPhase, list[ServerEffect]]] = []  # every server input
        assert self.local.send(logged_in=True) is Api.OK
        self._server("start", lambda: self.server.start(callee_online=callee_online))
        self._snapshot()

    # -- feeding the server machine, checking what it says ---------------------------

    def _server(self, name: str, fn: Callable[[], list[ServerEffect]]) -> list[ServerEffect]:
        phase = self.server.phase
        effects = fn()
        self.trace.append((name, phase, effects))
        if self.finished is not None:
            assert effects == [], f"{name} after Finished emitted {effects}"
            assert self.server.phase is InvitationPhase.DONE
            return effects
        delays = {
            InvitationTimer.OFFLINE: self.timings.offline_retry,
            InvitationTimer.NO_ACK: self.timings.no_ack,
            InvitationTimer.EXPIRE: self.timings.expire,
        }
        for i, e in enumerate(effects):
            assert isinstance(e, EFFECT_TYPES), e
            if isinstance(e, Finished):
                assert i == len(effects) - 1, effects
                assert self.server.phase is InvitationPhase.DONE
                assert self.server.outcome is e.outcome
                self.finished, self.ended_by = e.outcome, name
            elif isinstance(e, ToCaller):
                assert self.caller_left_in is None, "pushed to a caller that left"
                self.caller_pushed.append(e.event)
                self.to_caller.append(e)
            elif isinstance(e, ToCallee):
                self.callee_pushed.append(e.event)
                if self.callee_left_in is None:
                    self.to_callee.append(e)
            elif isinstance(e, StartInvitationTimer):
                assert e.timer not in self.started, f"{e.timer} started twice"
                assert e.delay == delays[e.timer]
                self.started[e.timer] = e.delay
            else:
                assert isinstance(e, WatchCallee)
                assert self.server.phase is InvitationPhase.PENDING
        if self.finished is None:
            assert self.server.phase is not InvitationPhase.DONE
        # Each side hears at most: "received" / "received_by_peer" first, then one outcome.
        outcomes = {o.value for o in InvitationOutcome}
        for pushed, first in (
            (self.caller_pushed, "received_by_peer"),
            (self.callee_pushed, "received"),
        ):
            rest = pushed[1:] if pushed[:1] == [first] else pushed
            assert len(rest) <= 1, pushed
            assert set(rest) <= outcomes, pushed
        assert self.callee_pushed[:1] in ([], ["received"])
        return effects

    # -- the caller ------------------------------------------------------------------

    def caller_cancel(self) -> None:
        before = self.local.state
        code = self.local.cancel()
        assert code is (Api.ALREADY_END if before in LOCAL_TERMINAL else Api.OK)
        if code is not Api.OK:
            return
        phase = self.server.phase
        answers: list[Api] = []

        def cancel() -> list[ServerEffect]:
            answer, effects = self.server.cancel()
            answers.append(answer)
            return effects

        self._server("cancel", cancel)
        late = phase in (InvitationPhase.ACCEPTING, InvitationPhase.DONE)
        assert answers == [Api.ALREADY_END if late else Api.OK]

    def deliver_to_caller(self) -> None:
        push = self.to_caller.popleft()
        self.caller_got.append(push.event)
        if push.event == "received_by_peer":
            self.local.received_by_peer()
        else:
            self.local.ended(InvitationOutcome(push.event), push.code)
        self.caller_unacked.append(push.event)

    def ack_caller(self) -> None:
        event = self.caller_unacked.popleft()
        self.caller_acked.append(event)
        if event == "accepted":
            self._server("caller_acknowledged_accept", self.server.caller_acknowledged_accept)

    def caller_leaves(self) -> None:
        phase = self.server.phase
        self._server("caller_gone", self.server.caller_gone)
        self.local.session_lost()
        self.caller_left_in = phase
        self.to_caller.clear()
        self.caller_unacked.clear()

    # -- the callee ------------------------------------------------------------------

    def callee_answer(self, *, accept: bool) -> None:
        remote = self.remote
        assert remote is not None
        code = remote.accept() if accept else remote.refuse()
        if code is not Api.OK:
            return
        phase = self.server.phase
        assert phase is not InvitationPhase.ACCEPTING  # the SDK never lets a second answer out
        answers: list[Api] = []

        def answer() -> list[ServerEffect]:
            result, effects = self.server.accept() if accept else self.server.refuse()
            answers.append(result)
            return effects

        self._server("accept" if accept else "refuse", answer)
        assert answers == [
            Api.OK
            if phase in (InvitationPhase.DELIVERED, InvitationPhase.RECEIVED)
            else Api.ALREADY_END
        ]

    def deliver_to_callee(self) -> None:
        push = self.to_callee.popleft()
        self.callee_got.append(push.event)
        if push.event == "received":
            assert self.remote is None
            self.remote = RemoteInvitation()
        else:
            assert self.remote is not None, "an outcome before the invitation"
            self.remote.ended(InvitationOutcome(push.event), push.code)
        self.callee_unacked.append(push.event)

    def ack_callee(self) -> None:
        if self.callee_unacked.popleft() == "received":
            self._server("callee_acknowledged", self.server.callee_acknowledged)

    def callee_comes_online(self) -> None:
        self._server("callee_online", self.server.callee_online)

    def callee_leaves(self) -> None:
        phase = self.server.phase
        involved = self.server.callee_has_it
        self._server("callee_gone", self.server.callee_gone)
        if not involved:
            return  # its session never took part in this invitation
        if self.remote is not None:
            self.remote.session_lost()
        self.callee_left_in = phase
        self.to_callee.clear()
        self.callee_unacked.clear()

    # -- timers ----------------------------------------------------------------------

    def fire(self, timer: InvitationTimer) -> None:
        """A running timer runs out (each at most once; the shell stops them at Finished,
        but the machine must ignore late ones too)."""
        if timer in self.started and timer not in self.fired:
            self.fired.add(timer)
            self._server(f"timer:{timer.name}", lambda: self.server.timer_fired(timer))

    # -- one step of a run, and what holds after every step ---------------------------

    def step(self, action: str, *, run_out: bool = True) -> None:
        """Run ``action`` if it can happen now (else nothing), then check the invariants."""
        match action:
            case "caller_cancel":
                self.caller_cancel()
            case "callee_accepts" | "callee_refuses" if self.remote is not None:
                self.callee_answer(accept=action == "callee_accepts")
            case "deliver_to_caller" if self.to_caller:
                self.deliver_to_caller()
            case "deliver_to_callee" if self.to_callee:
                self.deliver_to_callee()
            case "caller_acknowledges" if self.caller_unacked:
                self.ack_caller()
            case "callee_acknowledges" if self.callee_unacked:
                self.ack_callee()
            case "timer:OFFLINE" | "timer:NO_ACK" | "timer:EXPIRE":
                self.fire(InvitationTimer[action.removeprefix("timer:")])
            case "callee_comes_online":
                self.callee_comes_online()
            case "caller_leaves" if self.caller_left_in is None:
                self.caller_leaves()
            case "callee_leaves" if self.callee_left_in is None:
                self.callee_leaves()
        self.check_step(run_out=run_out)

    def _snapshot(self) -> None:
        self.local_before = (self.local.state, self.local.error)
        remote = self.remote
        self.remote_before = None if remote is None else (remote.state, remote.error)

    def check_step(self, *, run_out: bool = True) -> None:
        """States are enum members, terminal states stay put, the handshake holds, and the
        outcome rules hold now (if run out) and from here (run out on a copy)."""
        local, remote = self.local, self.remote
        assert isinstance(local.state, L)
        assert isinstance(local.error, LocalErr)
        if remote is not None:
            assert isinstance(remote.state, R)
            assert isinstance(remote.error, RemoteErr)
        assert isinstance(self.server.phase, InvitationPhase)
        assert (self.server.phase is InvitationPhase.DONE) is (self.finished is not None)
        # A terminal state is never left.
        if self.local_before[0] in LOCAL_TERMINAL:
            assert (local.state, local.error) == self.local_before
        if self.remote_before is not None and self.remote_before[0] in REMOTE_TERMINAL:
            assert remote is not None
            assert (remote.state, remote.error) == self.remote_before
        self._snapshot()
        # The handshake: the callee is ACCEPTED only after the caller's SDK acknowledged
        # "accepted"; the caller is ACCEPTED_BY_REMOTE only if the callee accepted.
        if remote is not None and remote.state is R.ACCEPTED:
            assert "accepted" in self.caller_acked
            assert local.state is L.ACCEPTED_BY_REMOTE
        if local.state is L.ACCEPTED_BY_REMOTE:
            assert remote is not None
            allowed = {R.ACCEPT_SENT_TO_LOCAL, R.ACCEPTED}
            if self.caller_left_in is not None or self.callee_left_in is not None:
                allowed.add(R.FAILURE)
            assert remote.state in allowed
        if self.server.phase is InvitationPhase.DONE and self.quiet:
            self.check_final()
        if run_out:
            copied = copy.deepcopy(self)
            copied.settle()
            copied.check_final()

    def key(self) -> str:
        """Everything that decides what can happen next and what ``check_final`` says."""
        remote = None if self.remote is None else vars(self.remote)
        return repr(
            (
                vars(self.server),
                vars(self.local),
                remote,
                [*self.to_caller, None, *self.to_callee],
                [*self.caller_unacked, None, *self.callee_unacked],
                [*self.caller_got, None, *self.callee_got, None, *self.caller_acked],
                [*self.caller_pushed, None, *self.callee_pushed],
                (self.caller_left_in, self.callee_left_in, self.ended_by),
                sorted(timer.name for timer in self.fired),
            )
        )

    # -- running it out --------------------------------------------------------------

    @property
    def quiet(self) -> bool:
        return not (self.to_caller or self.to_callee)

    def drain(self) -> None:
        while self.to_caller or self.to_callee or self.caller_unacked or self.callee_unacked:
            if self.to_caller:
                self.deliver_to_caller()
            if self.to_callee:
                self.deliver_to_callee()
            if self.caller_unacked:
                self.ack_caller()
            if self.callee_unacked:
                self.ack_callee()

    def settle(self) -> None:
        """Deliver and acknowledge everything, firing timers until the server is done."""
        for timer in (
            None,
            InvitationTimer.OFFLINE,
            InvitationTimer.NO_ACK,
            InvitationTimer.EXPIRE,
        ):
            if timer is not None:
                self.fire(timer)
            self.drain()
            if self.server.phase is InvitationPhase.DONE:
                return
        raise AssertionError(f"never ends: {self.trace}")

    # -- the rules -------------------------------------------------------------------

    def check_final(self) -> None:
        """Once the server is done and every push is delivered: the outcome rules."""
        assert self.server.phase is InvitationPhase.DONE
        assert self.quiet
        o = self.server.outcome
        assert o is not None
        assert o is self.finished
        local, remote = self.local, self.remote
        caller_final = [e for e in self.caller_got if e != "received_by_peer"]
        callee_final = [e for e in self.callee_got if e != "received"]
        assert len(caller_final) <= 1
        assert len(callee_final) <= 1

        # The caller.
        if self.caller_left_in is None:
            assert caller_final == [o.value]
            assert local.state is LOCAL_END[o]
            expected = (
                CALLER_FAIL_CODE[self.ended_by or ""]
                if o is InvitationOutcome.FAILED
                else LocalErr.OK
            )
            assert local.error is expected
        elif caller_final == [o.value]:  # the outcome reached it before it left
            assert local.state is LOCAL_END[o]
        elif caller_final == ["accepted"]:  # it left before its acknowledgement arrived
            assert self.caller_left_in is InvitationPhase.ACCEPTING
            assert o is InvitationOutcome.FAILED
            assert (local.state, local.error) == (L.ACCEPTED_BY_REMOTE, LocalErr.OK)
        else:
            assert caller_final == []
            assert (local.state, local.error) == (L.FAILURE, LocalErr.NOT_LOGGEDIN)

        # The callee.
        if remote is None:  # never got the invitation
            assert self.callee_left_in is not None or not self.server.callee_has_it
            assert callee_final == []
        elif self.callee_left_in is None:
            assert callee_final == [o.value]
            assert remote.state is REMOTE_END[o]
            if o is not InvitationOutcome.FAILED:
                assert remote.error is RemoteErr.OK
            elif self.ended_by == "caller_gone":
                accepting = self.caller_left_in is InvitationPhase.ACCEPTING
                code = RemoteErr.ACCEPT_FAILURE if accepting else RemoteErr.PEER_OFFLINE
                assert remote.error is code
            else:
                assert remote.error is CALLEE_FAIL_CODE[self.ended_by or ""]
        elif callee_final == [o.value]:
            assert remote.state is REMOTE_END[o]
        else:
            assert callee_final == []
            assert (remote.state, remote.error) == (R.FAILURE, RemoteErr.PEER_OFFLINE)

        # Nobody left: both sides agree, or the callee never got it.
        if self.caller_left_in is None and self.callee_left_in is None:
            if remote is None:
                assert not self.server.callee_has_it
            else:
                assert (local.state, remote.state) in AGREEING

        # A departure before the decision.
        callee_state = None if remote is None else remote.state
        if self.caller_left_in in UNDECIDED:
            assert o is InvitationOutcome.FAILED
            assert callee_state in (None, R.FAILURE)
            if self.caller_left_in is InvitationPhase.ACCEPTING and "accepted" in self.caller_got:
                assert local.state is L.ACCEPTED_BY_REMOTE
            else:
                assert local.state is L.FAILURE
        if self.callee_left_in in (InvitationPhase.DELIVERED, InvitationPhase.RECEIVED):
            assert o is InvitationOutcome.FAILED
            assert local.state is L.FAILURE
            assert callee_state in (None, R.FAILURE)
        if self.callee_left_in is InvitationPhase.ACCEPTING:
            assert callee_state is R.FAILURE
            if self.caller_left_in is InvitationPhase.ACCEPTING:
                assert o is InvitationOutcome.FAILED
            else:
                assert o is InvitationOutcome.ACCEPTED
                assert local.state is L.ACCEPTED_BY_REMOTE


# -- scenarios ------------------------------------------------------------------------


def test_sim_accept_in_order() -> None:
    """In-order delivery: received, received_by_peer, accepted, then the callee's accepted."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.ack_callee()
    sim.deliver_to_caller()
    assert sim.local.state is L.RECEIVED_BY_REMOTE
    sim.callee_answer(accept=True)
    assert sim.remote is not None
    assert sim.remote.state is R.ACCEPT_SENT_TO_LOCAL
    sim.deliver_to_caller()
    assert sim.local.state is L.ACCEPTED_BY_REMOTE
    assert sim.server.phase is InvitationPhase.ACCEPTING
    sim.ack_caller()
    sim.ack_caller()
    sim.drain()
    assert sim.remote.state is R.ACCEPTED
    assert sim.caller_got == ["received_by_peer", "accepted"]
    assert sim.callee_got == ["received", "accepted"]
    sim.check_final()


def test_sim_cancel_tells_the_callee_first() -> None:
    """A cancel after receipt pushes "canceled" to the callee before the caller."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.ack_callee()
    sim.caller_cancel()
    assert sim.trace[-1] == (
        "cancel",
        InvitationPhase.RECEIVED,
        [ToCallee("canceled"), ToCaller("canceled"), Finished(InvitationOutcome.CANCELED)],
    )
    sim.drain()
    assert sim.remote is not None
    assert (sim.local.state, sim.remote.state) == (L.CANCELED, R.CANCELED)
    sim.check_final()


def test_sim_cancel_wins_over_a_late_accept() -> None:
    """The server takes the cancel first: the callee's accept gets ALREADY_END, both CANCELED."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.caller_cancel()
    sim.callee_answer(accept=True)  # asserts the server's ALREADY_END
    assert sim.remote is not None
    assert sim.remote.state is R.ACCEPT_SENT_TO_LOCAL
    sim.drain()
    assert (sim.local.state, sim.remote.state) == (L.CANCELED, R.CANCELED)
    sim.check_final()


def test_sim_accept_before_the_ack_skips_received_by_peer() -> None:
    """An answer that overtakes the callee's acknowledgement: the caller never sees
    RECEIVED_BY_REMOTE (SENT_TO_REMOTE straight to ACCEPTED_BY_REMOTE)."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.callee_answer(accept=True)
    sim.ack_callee()  # too late to matter
    sim.drain()
    assert sim.caller_got == ["accepted"]
    assert sim.remote is not None
    assert (sim.local.state, sim.remote.state) == (L.ACCEPTED_BY_REMOTE, R.ACCEPTED)
    sim.check_final()


def test_sim_callee_logs_in_within_the_window() -> None:
    """An offline callee that logs in before OFFLINE fires gets the invitation."""
    sim = Sim(callee_online=False)
    assert sim.quiet
    sim.callee_comes_online()
    sim.fire(InvitationTimer.OFFLINE)  # too late to matter
    sim.deliver_to_callee()
    sim.callee_answer(accept=False)
    sim.drain()
    assert sim.remote is not None
    assert (sim.local.state, sim.remote.state) == (L.REFUSED_BY_REMOTE, R.REFUSED)
    sim.check_final()


def test_sim_callee_never_online() -> None:
    """OFFLINE fires while the callee is away: the caller fails PEER_OFFLINE, the callee
    never hears of it (not even if it logs in afterwards)."""
    sim = Sim(callee_online=False)
    sim.fire(InvitationTimer.OFFLINE)
    sim.callee_comes_online()
    sim.drain()
    assert (sim.local.state, sim.local.error) == (L.FAILURE, LocalErr.PEER_OFFLINE)
    assert sim.remote is None
    sim.check_final()


def test_sim_caller_leaves_after_getting_accepted() -> None:
    """The caller got "accepted" but its session ended before the acknowledgement reached
    the server: the caller stays ACCEPTED_BY_REMOTE, the callee fails ACCEPT_FAILURE."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.callee_answer(accept=True)
    sim.deliver_to_caller()
    assert sim.local.state is L.ACCEPTED_BY_REMOTE
    sim.caller_leaves()
    sim.drain()
    assert sim.server.outcome is InvitationOutcome.FAILED
    assert sim.remote is not None
    assert (sim.remote.state, sim.remote.error) == (R.FAILURE, RemoteErr.ACCEPT_FAILURE)
    assert sim.local.state is L.ACCEPTED_BY_REMOTE
    sim.check_final()


def test_sim_caller_leaves_before_getting_accepted() -> None:
    """The caller's session ends before "accepted" reaches it: both fail."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.callee_answer(accept=True)
    sim.caller_leaves()
    sim.drain()
    assert sim.remote is not None
    assert (sim.local.state, sim.local.error) == (L.FAILURE, LocalErr.NOT_LOGGEDIN)
    assert (sim.remote.state, sim.remote.error) == (R.FAILURE, RemoteErr.ACCEPT_FAILURE)
    sim.check_final()


def test_sim_callee_leaves_while_accepting() -> None:
    """The callee leaves after accepting: the server still completes the handshake with
    the caller (ACCEPTED_BY_REMOTE); only the callee's SDK fails (PEER_OFFLINE)."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.callee_answer(accept=True)
    sim.callee_leaves()
    assert sim.server.phase is InvitationPhase.ACCEPTING
    sim.fire(InvitationTimer.EXPIRE)  # the server does not give up on the handshake
    sim.drain()
    assert sim.server.outcome is InvitationOutcome.ACCEPTED
    assert sim.callee_pushed == ["received", "accepted"]  # the last one to a gone session
    assert sim.remote is not None
    assert sim.local.state is L.ACCEPTED_BY_REMOTE
    assert (sim.remote.state, sim.remote.error) == (R.FAILURE, RemoteErr.PEER_OFFLINE)
    sim.check_final()


def test_sim_callee_leaves_before_delivery() -> None:
    """The callee's session ends with "received" still queued: the caller fails PEER_OFFLINE
    and the callee never got the invitation."""
    sim = Sim(callee_online=True)
    sim.callee_leaves()
    sim.drain()
    assert (sim.local.state, sim.local.error) == (L.FAILURE, LocalErr.PEER_OFFLINE)
    assert sim.remote is None
    sim.check_final()


def test_sim_callee_leaves_after_the_decision() -> None:
    """The caller canceled; the callee left before "canceled" arrived: CANCELED vs FAILURE."""
    sim = Sim(callee_online=True)
    sim.deliver_to_callee()
    sim.ack_callee()
    sim.caller_cancel()
    sim.callee_leaves()
    sim.drain()
    assert sim.remote is not None
    assert sim.local.state is L.CANCELED
    assert (sim.remote.state, sim.remote.error) == (R.FAILURE, RemoteErr.PEER_OFFLINE)
    sim.check_final()


# -- the property ---------------------------------------------------------------------

timings_strategy = st.builds(
    InvitationTimings,
    offline_retry=st.floats(0.001, 1000.0),
    no_ack=st.floats(0.001, 1000.0),
    expire=st.floats(0.001, 1000.0),
)


ACTIONS = (
    "caller_cancel",
    "callee_accepts",
    "callee_refuses",
    "deliver_to_caller",
    "deliver_to_callee",
    "caller_acknowledges",
    "callee_acknowledges",
    "timer:OFFLINE",
    "timer:NO_ACK",
    "timer:EXPIRE",
    "callee_comes_online",
    "caller_leaves",
    "callee_leaves",
)


def test_every_interleaving() -> None:
    """Breadth-first over every reachable state of the whole system (all interleavings of
    all actions, both starts): every invariant holds and every run-out state obeys the
    outcome rules."""
    frontier = [Sim(callee_online=online) for online in (True, False)]
    seen = {sim.key() for sim in frontier}
    finals: set[tuple[object, ...]] = set()
    while frontier:
        following = []
        for sim in frontier:
            for action in ACTIONS:
                after = copy.deepcopy(sim)
                after.step(action, run_out=False)  # every state is visited: no need to run out
                key = after.key()
                if key not in seen:
                    seen.add(key)
                    following.append(after)
                    if after.server.phase is InvitationPhase.DONE and after.quiet:
                        remote = None if after.remote is None else after.remote.state
                        finals.add((after.local.state, remote, after.server.outcome))
        frontier = following
    # Every outcome is reached, including the departures' disagreements.
    assert {o for *_, o in finals} == set(InvitationOutcome)
    assert (L.ACCEPTED_BY_REMOTE, R.FAILURE, InvitationOutcome.FAILED) in finals
    assert (L.ACCEPTED_BY_REMOTE, R.FAILURE, InvitationOutcome.ACCEPTED) in finals
    assert (L.CANCELED, R.FAILURE, InvitationOutcome.CANCELED) in finals
    assert (L.FAILURE, R.REFUSED, InvitationOutcome.REFUSED) in finals
    assert {(local, remote) for local, remote, _ in finals} >= AGREEING


# Deliveries and acknowledgements move an invitation on; most other actions end it.
# Weighting them up lets more runs reach the handshake before something ends it.
WEIGHTED_ACTIONS = (
    *ACTIONS,
    *["deliver_to_caller", "deliver_to_callee", "caller_acknowledges", "callee_acknowledges"] * 2,
)


@settings(max_examples=500, deadline=None)
@given(
    timings=timings_strategy,
    callee_online=st.booleans(),
    actions=st.lists(st.sampled_from(WEIGHTED_ACTIONS), min_size=10, max_size=40),
)
def test_any_interleaving(
    timings: InvitationTimings, callee_online: bool, actions: list[str]
) -> None:
    """Any run keeps every invariant after every step (and obeys the outcome rules run out)."""
    sim = Sim(timings, callee_online=callee_online)
    sim.check_step()
    for action in actions:
        sim.step(action)
    sim.settle()
    sim.check_final()


# == Part 3: timings ==================================================================


def test_default_timings() -> None:
    """Agora's numbers: 30 s offline retry, 30 s acknowledgement, 60 s expiry."""
    t = InvitationTimings()
    assert (t.offline_retry, t.no_ack, t.expire) == (30.0, 30.0, 60.0)
    s = ServerInvitation()
    assert s.start(callee_online=False) == [
        StartInvitationTimer(InvitationTimer.EXPIRE, 60.0),
        StartInvitationTimer(InvitationTimer.OFFLINE, 30.0),
        WatchCallee(),
    ]
    assert s.callee_online() == [
        ToCallee("received"),
        StartInvitationTimer(InvitationTimer.NO_ACK, 30.0),
    ]


def test_timings_are_frozen() -> None:
    """InvitationTimings cannot be changed after it is made."""
    t = InvitationTimings()
    with pytest.raises(AttributeError):
        t.expire = 1.0  # type: ignore[misc]


@given(timings=timings_strategy, callee_online=st.booleans())
def test_timings_reach_the_timers(timings: InvitationTimings, callee_online: bool) -> None:
    """Each StartInvitationTimer carries its InvitationTimings value, however the callee is met."""
    s = ServerInvitation(timings)
    assert s.timings is timings
    effects = s.start(callee_online=callee_online)
    if not callee_online:
        assert effects == [
            StartInvitationTimer(InvitationTimer.EXPIRE, timings.expire),
            StartInvitationTimer(InvitationTimer.OFFLINE, timings.offline_retry),
            WatchCallee(),
        ]
        effects = s.callee_online()
        assert effects == [
            ToCallee("received"),
            StartInvitationTimer(InvitationTimer.NO_ACK, timings.no_ack),
        ]
    else:
        assert effects == [
            StartInvitationTimer(InvitationTimer.EXPIRE, timings.expire),
            ToCallee("received"),
            StartInvitationTimer(InvitationTimer.NO_ACK, timings.no_ack),
        ]
    assert s.phase is InvitationPhase.DELIVERED
