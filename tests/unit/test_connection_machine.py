"""The client's connection state machine: every row of its table, then properties.

Effects are compared as whole lists (order matters to the shell). With the default
``Timings`` and jitter 0.5 the backoff delays are 0.375, 0.75, 1.5, 3, 6, 7.5, 7.5, ...
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from rtm_actors.protocol.codes import (
    ConnectionChangeReason as Reason,
    ConnectionState as State,
    LoginErrCode,
)
from rtm_actors.protocol.connection import (
    CancelTimer,
    CloseLink,
    ConnectionMachine,
    Effect,
    LinkDown,
    LinkRestored,
    LoggedOut,
    LoginFailed,
    LoginSucceeded,
    OpenLink,
    SendLogin,
    SendLogout,
    SendPing,
    StartTimer,
    StateChanged,
    Timer,
    Timings,
    TokenExpired,
    backoff_delay,
)

T = Timings()
FIRST_BACKOFF = 0.375  # backoff_delay(0, T, 0.5)
CANCEL_ALL = [CancelTimer(t) for t in Timer]
TOKEN_CODES = (LoginErrCode.TOKEN_EXPIRED, LoginErrCode.INVALID_TOKEN)
BAN_CODES = (LoginErrCode.REJECTED, LoginErrCode.NOT_AUTHORIZED)
RETRY_CODES = tuple(c for c in LoginErrCode if c not in TOKEN_CODES + BAN_CODES)
KICK_REASONS = (Reason.REMOTE_LOGIN, Reason.BANNED_BY_SERVER, Reason.TOKEN_EXPIRED)
EFFECT_TYPES = Effect.__args__  # type: ignore[attr-defined]


def new_machine(jitter: float = 0.5, timings: Timings | None = None) -> ConnectionMachine:
    return ConnectionMachine(timings, jitter=lambda: jitter)


# -- getting a machine into each state -------------------------------------------------


def disconnected() -> ConnectionMachine:
    return new_machine()


def connecting() -> ConnectionMachine:
    m = new_machine()
    m.login()
    return m


def connecting_link_open() -> ConnectionMachine:
    m = connecting()
    m.link_opened(0.0)
    return m


def connecting_retrying() -> ConnectionMachine:
    """CONNECTING, the first link failed and a retry is open and waiting for the reply."""
    m = connecting()
    m.link_lost()
    m.timer_fired(Timer.RECONNECT, 0.5)
    m.link_opened(1.0)
    return m


def connected(session: str = "s1", now: float = 0.0) -> ConnectionMachine:
    m = connecting()
    m.link_opened(now)
    m.login_accepted(session, resumed=False, now=now)
    return m


def connected_link_down() -> ConnectionMachine:
    m = connected()
    m.link_lost()
    return m


def connected_retry_open() -> ConnectionMachine:
    """CONNECTED inside the interrupt window, a retry link open and the Login sent."""
    m = connected_link_down()
    m.timer_fired(Timer.RECONNECT, 0.5)
    m.link_opened(1.0)
    return m


def reconnecting() -> ConnectionMachine:
    m = connected_link_down()
    m.timer_fired(Timer.INTERRUPT, 4.0)
    return m


def reconnecting_retry_open() -> ConnectionMachine:
    m = reconnecting()
    m.timer_fired(Timer.RECONNECT, 4.5)
    m.link_opened(5.0)
    return m


def awaiting_token() -> ConnectionMachine:
    m = reconnecting_retry_open()
    m.login_rejected(LoginErrCode.TOKEN_EXPIRED)
    return m


def aborted() -> ConnectionMachine:
    m = connected()
    m.kicked(Reason.REMOTE_LOGIN)
    return m


SETUPS: dict[str, Callable[[], ConnectionMachine]] = {
    "disconnected": disconnected,
    "connecting": connecting,
    "connecting_link_open": connecting_link_open,
    "connecting_retrying": connecting_retrying,
    "connected": connected,
    "connected_link_down": connected_link_down,
    "connected_retry_open": connected_retry_open,
    "reconnecting": reconnecting,
    "reconnecting_retry_open": reconnecting_retry_open,
    "awaiting_token": awaiting_token,
    "aborted": aborted,
}


def test_setups_reach_their_states() -> None:
    """The helpers above put the machine where their names say."""
    expected = {
        "disconnected": (State.DISCONNECTED, False),
        "connecting": (State.CONNECTING, False),
        "connecting_link_open": (State.CONNECTING, False),
        "connecting_retrying": (State.CONNECTING, False),
        "connected": (State.CONNECTED, True),
        "connected_link_down": (State.CONNECTED, False),
        "connected_retry_open": (State.CONNECTED, False),
        "reconnecting": (State.RECONNECTING, False),
        "reconnecting_retry_open": (State.RECONNECTING, False),
        "awaiting_token": (State.RECONNECTING, False),
        "aborted": (State.ABORTED, False),
    }
    for name, setup in SETUPS.items():
        m = setup()
        assert (m.state, m.link_up) == expected[name], name
        assert m.awaiting_token is (name == "awaiting_token")


# -- DISCONNECTED: login -------------------------------------------------------------


def test_initial_state() -> None:
    """A new machine is DISCONNECTED with no link, no session and no attempts."""
    m = new_machine()
    assert m.state is State.DISCONNECTED
    assert not m.link_up
    assert m.session is None
    assert m.attempt == 0
    assert not m.awaiting_token
    assert m.timings == Timings()


def test_login_from_disconnected() -> None:
    """login: CONNECTING/LOGIN, start the login timer, open a link."""
    m = new_machine()
    assert m.login() == [
        StateChanged(State.CONNECTING, Reason.LOGIN),
        StartTimer(Timer.LOGIN, T.login_timeout),
        OpenLink(),
    ]
    assert m.state is State.CONNECTING
    assert m.session is None


@pytest.mark.parametrize(
    "setup", [s for n, s in SETUPS.items() if n != "disconnected"], ids=lambda s: s.__name__
)
def test_login_when_not_disconnected_is_already_logged_in(
    setup: Callable[[], ConnectionMachine],
) -> None:
    """login in any state but DISCONNECTED fails with ALREADY_LOGGED_IN and changes nothing."""
    m = setup()
    before = (m.state, m.link_up, m.session, m.attempt, m.awaiting_token)
    assert m.login() == [LoginFailed(LoginErrCode.ALREADY_LOGGED_IN)]
    assert (m.state, m.link_up, m.session, m.attempt, m.awaiting_token) == before


# -- CONNECTING ------------------------------------------------------------------------


def test_link_opened_while_connecting_sends_fresh_login() -> None:
    """The first link of a login sends Login without a session to resume."""
    m = connecting()
    assert m.link_opened(0.0) == [SendLogin(None)]
    assert m.state is State.CONNECTING
    assert not m.link_up


def test_login_accepted_from_connecting() -> None:
    """Accepted: cancel the login timer, CONNECTED/LOGIN_SUCCESS, LoginSucceeded, heartbeat."""
    m = connecting_link_open()
    assert m.login_accepted("s1", resumed=False, now=1.0) == [
        CancelTimer(Timer.LOGIN),
        StateChanged(State.CONNECTED, Reason.LOGIN_SUCCESS),
        LoginSucceeded(),
        StartTimer(Timer.HEARTBEAT, T.heartbeat_interval),
    ]
    assert m.state is State.CONNECTED
    assert m.link_up
    assert m.session == "s1"
    assert m.attempt == 0


def test_login_accepted_after_retries_while_connecting_resets_attempts() -> None:
    """A login that needed retries still reports LoginSucceeded and starts backoff afresh."""
    m = connecting_retrying()
    assert m.attempt == 1
    effects = m.login_accepted("s1", resumed=False, now=2.0)
    assert LoginSucceeded() in effects
    assert StateChanged(State.CONNECTED, Reason.LOGIN_SUCCESS) in effects
    assert m.attempt == 0


@pytest.mark.parametrize("code", list(LoginErrCode), ids=lambda c: c.name)
def test_login_rejected_from_connecting(code: LoginErrCode) -> None:
    """Rejected: stop the login timers, close, DISCONNECTED/LOGIN_FAILURE, LoginFailed(code)."""
    m = connecting_link_open()
    assert m.login_rejected(code) == [
        CancelTimer(Timer.LOGIN),
        CancelTimer(Timer.RECONNECT),
        CancelTimer(Timer.ATTEMPT),
        CloseLink(),
        StateChanged(State.DISCONNECTED, Reason.LOGIN_FAILURE),
        LoginFailed(code),
    ]
    assert m.state is State.DISCONNECTED
    assert m.session is None
    assert not m.link_up


def test_rejected_retry_leaves_no_attempt_timer_to_hit_the_next_login() -> None:
    """A login rejected on a retry cancels that attempt's timer, so a quick re-login is safe."""
    m = new_machine()
    timers = TimerModel()
    timers.apply(m.login())
    timers.apply(m.link_lost())
    timers.fire(Timer.RECONNECT)
    timers.apply(m.timer_fired(Timer.RECONNECT, 0.5))
    assert Timer.ATTEMPT in timers.running
    m.link_opened(1.0)
    timers.apply(m.login_rejected(LoginErrCode.INVALID_TOKEN))
    assert timers.running == set()


def test_attempt_timer_left_by_a_retried_login_is_inert() -> None:
    """A login accepted on a retry leaves the attempt timer running, but it does nothing."""
    m = connecting_retrying()
    effects = m.login_accepted("s1", resumed=False, now=2.0)
    assert CancelTimer(Timer.ATTEMPT) not in effects
    assert m.timer_fired(Timer.ATTEMPT, 7.0) == []
    assert m.link_up


def test_login_timer_while_connecting() -> None:
    """The login timer: close, cancel retries, DISCONNECTED/LOGIN_TIMEOUT, LoginFailed(TIMEOUT)."""
    m = connecting_retrying()
    assert m.timer_fired(Timer.LOGIN, 12.0) == [
        CloseLink(),
        CancelTimer(Timer.RECONNECT),
        CancelTimer(Timer.ATTEMPT),
        StateChanged(State.DISCONNECTED, Reason.LOGIN_TIMEOUT),
        LoginFailed(LoginErrCode.TIMEOUT),
    ]
    assert m.state is State.DISCONNECTED
    assert m.session is None


def test_link_lost_while_connecting_retries_with_backoff() -> None:
    """A lost link while CONNECTING retries after a growing backoff; the state stays CONNECTING."""
    m = connecting()
    assert m.link_lost() == [
        CancelTimer(Timer.HEARTBEAT),
        CancelTimer(Timer.ATTEMPT),
        StartTimer(Timer.RECONNECT, FIRST_BACKOFF),
    ]
    assert m.timer_fired(Timer.RECONNECT, 0.4) == [
        OpenLink(),
        StartTimer(Timer.ATTEMPT, T.attempt_timeout),
    ]
    assert m.link_lost() == [
        CancelTimer(Timer.HEARTBEAT),
        CancelTimer(Timer.ATTEMPT),
        StartTimer(Timer.RECONNECT, 2 * FIRST_BACKOFF),
    ]
    assert m.state is State.CONNECTING
    assert m.attempt == 2


def test_attempt_timer_closes_a_hung_attempt_and_retries() -> None:
    """An attempt that neither opens nor fails in time is closed and retried."""
    m = connecting()
    m.link_lost()
    m.timer_fired(Timer.RECONNECT, 0.4)
    assert m.timer_fired(Timer.ATTEMPT, 6.4) == [
        CloseLink(),
        CancelTimer(Timer.HEARTBEAT),
        CancelTimer(Timer.ATTEMPT),
        StartTimer(Timer.RECONNECT, 2 * FIRST_BACKOFF),
    ]
    assert m.state is State.CONNECTING


# -- CONNECTED: link loss and reconnects ------------------------------------------------


def test_link_lost_while_connected_stays_connected_and_starts_interrupt_and_reconnect() -> None:
    """A lost link keeps CONNECTED (for now): LinkDown, interrupt timer, reconnect timer."""
    m = connected()
    assert m.link_lost() == [
        CancelTimer(Timer.HEARTBEAT),
        CancelTimer(Timer.ATTEMPT),
        LinkDown(),
        StartTimer(Timer.INTERRUPT, T.interrupt_after),
        StartTimer(Timer.RECONNECT, FIRST_BACKOFF),
    ]
    assert m.state is State.CONNECTED
    assert not m.link_up
    assert m.session == "s1"


def test_failed_retry_inside_the_window_does_not_restart_the_interrupt_timer() -> None:
    """Only the first loss starts the interrupt timer; later failed attempts just back off."""
    m = connected_retry_open()
    assert m.link_lost() == [
        CancelTimer(Timer.HEARTBEAT),
        CancelTimer(Timer.ATTEMPT),
        StartTimer(Timer.RECONNECT, 2 * FIRST_BACKOFF),
    ]
    assert m.state is State.CONNECTED


def test_interrupt_timer_moves_to_reconnecting() -> None:
    """The link still down after interrupt_after: RECONNECTING/INTERRUPTED."""
    m = connected_link_down()
    assert m.timer_fired(Timer.INTERRUPT, 4.0) == [
        StateChanged(State.RECONNECTING, Reason.INTERRUPTED)
    ]
    assert m.state is State.RECONNECTING
    assert m.session == "s1"


def test_link_opened_after_a_drop_resumes_the_session() -> None:
    """After a drop, the retry's Login carries the session key to resume."""
    m = connected_link_down()
    assert m.timer_fired(Timer.RECONNECT, 0.4) == [
        OpenLink(),
        StartTimer(Timer.ATTEMPT, T.attempt_timeout),
    ]
    assert m.link_opened(1.0) == [SendLogin("s1")]


def test_reconnect_within_the_interrupt_window_reports_no_state_change() -> None:
    """Back within interrupt_after: LinkRestored only, no StateChanged and no LoginSucceeded."""
    m = connected_retry_open()
    effects = m.login_accepted("s2", resumed=True, now=1.5)
    assert effects == [
        CancelTimer(Timer.ATTEMPT),
        CancelTimer(Timer.INTERRUPT),
        LinkRestored(resumed=True),
        StartTimer(Timer.HEARTBEAT, T.heartbeat_interval),
    ]
    assert not any(isinstance(e, StateChanged | LoginSucceeded) for e in effects)
    assert m.state is State.CONNECTED
    assert m.link_up
    assert m.session == "s2"
    assert m.attempt == 0


def test_reconnect_from_reconnecting_reports_login_success_without_login_succeeded() -> None:
    """RECONNECTING, accepted: CONNECTED/LOGIN_SUCCESS and LinkRestored, no LoginSucceeded."""
    m = reconnecting_retry_open()
    effects = m.login_accepted("s1", resumed=False, now=5.5)
    assert effects == [
        CancelTimer(Timer.ATTEMPT),
        CancelTimer(Timer.INTERRUPT),
        StateChanged(State.CONNECTED, Reason.LOGIN_SUCCESS),
        LinkRestored(resumed=False),
        StartTimer(Timer.HEARTBEAT, T.heartbeat_interval),
    ]
    assert LoginSucceeded() not in effects
    assert m.state is State.CONNECTED
    assert m.link_up


def test_backoff_grows_across_failures_and_resets_after_a_reconnect() -> None:
    """Each failed attempt doubles the backoff (to the cap); a working link resets it."""
    m = connected()
    delays = []
    for i in range(7):
        effects = m.link_lost()
        delays.append(
            next(
                e.delay for e in effects if isinstance(e, StartTimer) and e.timer is Timer.RECONNECT
            )
        )
        m.timer_fired(Timer.RECONNECT, float(i))
    assert delays == [0.375, 0.75, 1.5, 3.0, 6.0, 7.5, 7.5]
    m.link_opened(10.0)
    m.login_accepted("s1", resumed=True, now=10.0)
    assert m.link_lost()[-1] == StartTimer(Timer.RECONNECT, FIRST_BACKOFF)


def _stuck_drop(m: ConnectionMachine, links: int) -> list[Effect]:
    """The shell drops the link at a fault the last ``links`` links hit, then resumes."""
    m.link_stuck(links)
    effects = m.link_lost()
    m.timer_fired(Timer.RECONNECT, 0.0)
    m.link_opened(0.0)
    assert not any(
        isinstance(e, StateChanged) for e in m.login_accepted("s1", resumed=True, now=0.0)
    )
    return effects


def test_links_stuck_at_one_fault_resume_ever_more_slowly_and_the_app_sees_nothing() -> None:
    """Links dropped one after another at the same fault wait before each resume as
    failed attempts would, doubling to the cap; the interrupt timer counts from the
    retry, so a resume that works reports no state change however long the wait."""
    m = connected()
    delays = []
    for links in range(1, 9):
        effects = _stuck_drop(m, links)
        retry = effects[-1]
        assert isinstance(retry, StartTimer)
        assert retry.timer is Timer.RECONNECT
        assert StartTimer(Timer.INTERRUPT, T.interrupt_after + retry.delay) in effects
        delays.append(retry.delay)
    assert delays == [0.375, 0.75, 1.5, 3.0, 6.0, 7.5, 7.5, 7.5]
    assert m.state is State.CONNECTED


def test_past_the_fault_resumes_at_the_normal_delay_again() -> None:
    """A link that got past the fault (the count is 1 again), or a drop for another
    reason, resumes after the first backoff and starts the usual interrupt timer."""
    m = connected()
    for links in range(1, 6):
        _stuck_drop(m, links)
    assert _stuck_drop(m, 1)[-1] == StartTimer(Timer.RECONNECT, FIRST_BACKOFF)
    _stuck_drop(m, 5)
    assert m.link_lost()[-2:] == [
        StartTimer(Timer.INTERRUPT, T.interrupt_after),
        StartTimer(Timer.RECONNECT, FIRST_BACKOFF),
    ]


def test_a_failed_attempt_after_a_stuck_drop_backs_off_from_there() -> None:
    """The resume after the fourth stuck link waits 3 s; if it fails to open, the next
    waits 6 s, and the interrupt timer is not restarted."""
    m = connected()
    assert _stuck_drop(m, 1)[-1] == StartTimer(Timer.RECONNECT, FIRST_BACKOFF)
    m.link_stuck(4)
    assert m.link_lost()[-1] == StartTimer(Timer.RECONNECT, 3.0)
    m.timer_fired(Timer.RECONNECT, 3.0)
    assert m.link_lost() == [
        CancelTimer(Timer.HEARTBEAT),
        CancelTimer(Timer.ATTEMPT),
        StartTimer(Timer.RECONNECT, 6.0),
    ]


def test_a_stuck_count_left_by_a_logout_does_not_slow_the_next_session() -> None:
    """``link_stuck`` then a logout before the link's end: the next login's first
    retry has the normal delay."""
    m = connected()
    m.link_stuck(6)
    m.logout()
    m.link_lost()
    m.login()
    assert m.link_lost()[-1] == StartTimer(Timer.RECONNECT, FIRST_BACKOFF)


def test_jitter_function_is_used_for_every_retry() -> None:
    """The injected jitter decides where in [ceiling/2, ceiling] each delay falls."""
    values = iter([0.0, 0.999])
    m = ConnectionMachine(jitter=lambda: next(values))
    m.login()
    assert m.link_lost()[-1] == StartTimer(Timer.RECONNECT, 0.25)
    assert m.link_lost()[-1] == StartTimer(Timer.RECONNECT, pytest.approx(0.9995))


# -- kicks --------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", KICK_REASONS, ids=lambda r: r.name)
@pytest.mark.parametrize(
    "setup",
    [connecting_link_open, connected, connected_link_down, reconnecting, awaiting_token],
    ids=lambda s: s.__name__,
)
def test_kicked_aborts_with_the_reason(
    setup: Callable[[], ConnectionMachine], reason: Reason
) -> None:
    """kicked(reason): stop all timers, close, ABORTED/reason, LoggedOut(reason), no session."""
    m = setup()
    assert m.kicked(reason) == [
        *CANCEL_ALL,
        CloseLink(),
        StateChanged(State.ABORTED, reason),
        LoggedOut(reason),
    ]
    assert m.state is State.ABORTED
    assert not m.link_up
    assert m.session is None
    assert not m.awaiting_token


@pytest.mark.parametrize("setup", [disconnected, aborted], ids=lambda s: s.__name__)
def test_kicked_when_not_logged_in_is_ignored(setup: Callable[[], ConnectionMachine]) -> None:
    """A kick with no session (DISCONNECTED, or already ABORTED) does nothing."""
    m = setup()
    state = m.state
    assert m.kicked(Reason.REMOTE_LOGIN) == []
    assert m.state is state


def test_aborted_is_left_only_by_logout() -> None:
    """In ABORTED everything but logout is refused or ignored; logout returns to DISCONNECTED."""
    m = aborted()
    assert m.login() == [LoginFailed(LoginErrCode.ALREADY_LOGGED_IN)]
    assert m.link_opened(1.0) == [CloseLink()]
    assert m.login_accepted("s9", resumed=False, now=1.0) == [CloseLink()]
    assert m.login_rejected(LoginErrCode.TOKEN_EXPIRED) == []
    assert m.link_lost() == []
    assert m.token_renewed() == []
    for timer in Timer:
        assert m.timer_fired(timer, 100.0) == []
    assert m.state is State.ABORTED
    assert m.session is None
    m.logout()
    assert m.state is State.DISCONNECTED
    assert m.login()[0] == StateChanged(State.CONNECTING, Reason.LOGIN)


# -- logout -------------------------------------------------------------------------------


def test_logout_from_disconnected_does_nothing() -> None:
    """logout while DISCONNECTED has no effects."""
    m = new_machine()
    assert m.logout() == []
    assert m.state is State.DISCONNECTED


@pytest.mark.parametrize(
    ("setup", "link_up"),
    [
        (connecting, False),
        (connecting_link_open, False),
        (connecting_retrying, False),
        (connected, True),
        (connected_link_down, False),
        (connected_retry_open, False),
        (reconnecting, False),
        (reconnecting_retry_open, False),
        (awaiting_token, False),
        (aborted, False),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_logout_from_each_state(setup: Callable[[], ConnectionMachine], link_up: bool) -> None:
    """logout: SendLogout if the link is up, no timers, close, DISCONNECTED/LOGOUT, LoggedOut."""
    m = setup()
    assert m.link_up is link_up
    assert m.logout() == [
        *([SendLogout()] if link_up else []),
        *CANCEL_ALL,
        CloseLink(),
        StateChanged(State.DISCONNECTED, Reason.LOGOUT),
        LoggedOut(Reason.LOGOUT),
    ]
    assert m.state is State.DISCONNECTED
    assert not m.link_up
    assert m.session is None
    assert m.attempt == 0
    assert not m.awaiting_token


def test_login_after_logout_starts_a_fresh_session() -> None:
    """After logout, a new login sends Login without the old session key."""
    m = connected()
    m.logout()
    m.login()
    assert m.link_opened(1.0) == [SendLogin(None)]


# -- tokens and rejections while reconnecting ---------------------------------------------


@pytest.mark.parametrize("code", TOKEN_CODES, ids=lambda c: c.name)
def test_token_rejection_while_reconnecting_waits_for_a_new_token(code: LoginErrCode) -> None:
    """A token rejection while RECONNECTING: close, TokenExpired, same state, no more retries."""
    m = reconnecting_retry_open()
    assert m.login_rejected(code) == [
        CancelTimer(Timer.ATTEMPT),
        CloseLink(),
        CancelTimer(Timer.INTERRUPT),
        TokenExpired(),
    ]
    assert m.state is State.RECONNECTING
    assert m.awaiting_token
    assert m.session == "s1"
    # Nothing retries by itself while the app has not renewed the token.
    assert m.link_lost() == []
    assert m.timer_fired(Timer.RECONNECT, 9.0) == []
    assert m.timer_fired(Timer.ATTEMPT, 9.0) == []
    assert m.token_renewed() == [OpenLink(), StartTimer(Timer.ATTEMPT, T.attempt_timeout)]
    assert not m.awaiting_token
    assert m.attempt == 0
    assert m.link_opened(10.0) == [SendLogin("s1")]
    effects = m.login_accepted("s1", resumed=True, now=10.0)
    assert StateChanged(State.CONNECTED, Reason.LOGIN_SUCCESS) in effects
    assert m.state is State.CONNECTED


def test_token_rejection_inside_the_interrupt_window_reports_reconnecting_at_once() -> None:
    """A token rejection while CONNECTED with the link down goes to RECONNECTING/INTERRUPTED now."""
    m = connected_retry_open()
    assert m.login_rejected(LoginErrCode.TOKEN_EXPIRED) == [
        CancelTimer(Timer.ATTEMPT),
        CloseLink(),
        StateChanged(State.RECONNECTING, Reason.INTERRUPTED),
        CancelTimer(Timer.INTERRUPT),
        TokenExpired(),
    ]
    assert m.state is State.RECONNECTING
    assert m.awaiting_token


@pytest.mark.parametrize("setup", [s for n, s in SETUPS.items() if n != "awaiting_token"])
def test_token_renewed_when_not_waiting_does_nothing(
    setup: Callable[[], ConnectionMachine],
) -> None:
    """renew_token outside the wait for a token has no effect on the connection."""
    m = setup()
    state = m.state
    assert m.token_renewed() == []
    assert m.state is state


@pytest.mark.parametrize("code", BAN_CODES, ids=lambda c: c.name)
@pytest.mark.parametrize(
    "setup", [connected_retry_open, reconnecting_retry_open], ids=lambda s: s.__name__
)
def test_rejected_while_reconnecting_aborts_banned(
    setup: Callable[[], ConnectionMachine], code: LoginErrCode
) -> None:
    """REJECTED/NOT_AUTHORIZED on a reconnect: ABORTED/BANNED_BY_SERVER, session ended."""
    m = setup()
    assert m.login_rejected(code) == [
        *CANCEL_ALL,
        CloseLink(),
        StateChanged(State.ABORTED, Reason.BANNED_BY_SERVER),
        LoggedOut(Reason.BANNED_BY_SERVER),
    ]
    assert m.state is State.ABORTED
    assert m.session is None


@pytest.mark.parametrize("code", RETRY_CODES, ids=lambda c: c.name)
@pytest.mark.parametrize(
    "setup", [connected_retry_open, reconnecting_retry_open], ids=lambda s: s.__name__
)
def test_other_rejections_while_reconnecting_retry_later(
    setup: Callable[[], ConnectionMachine], code: LoginErrCode
) -> None:
    """Any other rejection on a reconnect ends that attempt and retries after the next backoff."""
    m = setup()
    state = m.state
    assert m.attempt == 1
    assert m.login_rejected(code) == [
        CancelTimer(Timer.ATTEMPT),
        CloseLink(),
        StartTimer(Timer.RECONNECT, 2 * FIRST_BACKOFF),
    ]
    assert m.state is state
    assert m.session == "s1"
    assert not m.awaiting_token


@pytest.mark.parametrize("setup", [disconnected, aborted], ids=lambda s: s.__name__)
@pytest.mark.parametrize("code", list(LoginErrCode), ids=lambda c: c.name)
def test_rejection_without_a_login_in_flight_is_ignored(
    setup: Callable[[], ConnectionMachine], code: LoginErrCode
) -> None:
    """A late rejection when DISCONNECTED or ABORTED does nothing."""
    m = setup()
    assert m.login_rejected(code) == []


@pytest.mark.parametrize("setup", [disconnected, aborted], ids=lambda s: s.__name__)
def test_late_link_and_login_when_logged_out_are_closed(
    setup: Callable[[], ConnectionMachine],
) -> None:
    """A link that opens, or a login that succeeds, after logout/abort is just closed."""
    m = setup()
    state = m.state
    assert m.link_opened(1.0) == [CloseLink()]
    assert m.login_accepted("late", resumed=False, now=1.0) == [CloseLink()]
    assert m.link_lost() == []
    assert m.state is state
    assert not m.link_up
    assert m.session is None


# -- heartbeats ---------------------------------------------------------------------------


def test_heartbeat_pings_while_traffic_is_recent() -> None:
    """The heartbeat timer sends a ping and restarts itself while the link is heard from."""
    m = connected(now=0.0)
    assert m.timer_fired(Timer.HEARTBEAT, 2.0) == [
        SendPing(),
        StartTimer(Timer.HEARTBEAT, T.heartbeat_interval),
    ]
    assert m.traffic_seen(5.0) is None
    # Exactly heartbeat_timeout of silence is still alive.
    assert m.timer_fired(Timer.HEARTBEAT, 5.0 + T.heartbeat_timeout)[0] == SendPing()
    assert m.link_up


def test_no_ping_while_frames_go_both_ways_within_the_interval() -> None:
    """Traffic in and out within the interval proves the link: the timer only restarts;
    traffic one way only, or a ping's own interval later, pings as before."""
    beat = T.heartbeat_interval
    m = connected(now=0.0)
    m.traffic_seen(0.75 * beat)
    m.traffic_sent(0.5 * beat)
    # (It looks again when the older of the two is an interval old.)
    assert m.timer_fired(Timer.HEARTBEAT, beat) == [StartTimer(Timer.HEARTBEAT, 0.5 * beat)]
    m.traffic_seen(1.95 * beat)  # in only
    assert m.timer_fired(Timer.HEARTBEAT, 2 * beat)[0] == SendPing()
    m.traffic_sent(2 * beat)  # the ping; its pong comes back
    m.traffic_seen(2.005 * beat)
    assert m.timer_fired(Timer.HEARTBEAT, 3 * beat)[0] == SendPing()


def test_a_skipped_ping_is_sent_when_due_not_an_interval_later() -> None:
    """Frames both ways half an interval in: the timer skips its ping and looks again
    when the quiet reaches an interval, and pings then. (Looking a whole interval
    later, the silence had run past the timeout with no ping sent: a healthy link with
    sparse traffic was dropped and resumed every two intervals.)"""
    beat = T.heartbeat_interval
    assert T.heartbeat_timeout < 2 * beat  # (the defaults where it mattered)
    m = connected(now=0.0)
    m.traffic_sent(0.45 * beat)
    m.traffic_seen(0.49 * beat)
    assert m.timer_fired(Timer.HEARTBEAT, beat) == [
        StartTimer(Timer.HEARTBEAT, pytest.approx(0.45 * beat))
    ]
    assert m.timer_fired(Timer.HEARTBEAT, 1.45 * beat) == [
        SendPing(),
        StartTimer(Timer.HEARTBEAT, beat),
    ]
    m.traffic_sent(1.45 * beat)  # the ping; its pong comes back
    m.traffic_seen(1.46 * beat)
    assert m.timer_fired(Timer.HEARTBEAT, 2.45 * beat)[0] == SendPing()
    assert m.link_up


def test_heartbeat_closes_and_retries_a_silent_link() -> None:
    """Silence past heartbeat_timeout: close the link and handle it as lost."""
    m = connected(now=0.0)
    m.traffic_seen(1.0)
    assert m.timer_fired(Timer.HEARTBEAT, 1.0 + T.heartbeat_timeout + 0.01) == [
        CloseLink(),
        CancelTimer(Timer.HEARTBEAT),
        CancelTimer(Timer.ATTEMPT),
        LinkDown(),
        StartTimer(Timer.INTERRUPT, T.interrupt_after),
        StartTimer(Timer.RECONNECT, FIRST_BACKOFF),
    ]
    assert m.state is State.CONNECTED
    assert not m.link_up


def test_login_accepted_counts_as_traffic() -> None:
    """The login reply itself refreshes the silence clock."""
    m = connecting()
    m.link_opened(0.0)
    m.login_accepted("s1", resumed=False, now=10.0)
    assert m.timer_fired(Timer.HEARTBEAT, 10.0 + T.heartbeat_timeout)[0] == SendPing()


# -- stale timers -------------------------------------------------------------------------

STALE_TIMERS = [
    (disconnected, list(Timer)),
    (aborted, list(Timer)),
    (connecting, [Timer.INTERRUPT, Timer.HEARTBEAT]),
    (connected, [Timer.LOGIN, Timer.INTERRUPT, Timer.RECONNECT, Timer.ATTEMPT]),
    (connected_link_down, [Timer.LOGIN, Timer.HEARTBEAT]),
    (reconnecting, [Timer.LOGIN, Timer.INTERRUPT, Timer.HEARTBEAT]),
    (awaiting_token, list(Timer)),
]


@pytest.mark.parametrize(
    ("setup", "timer"),
    [(setup, timer) for setup, timers in STALE_TIMERS for timer in timers],
    ids=lambda x: x.__name__ if callable(x) else x.name,
)
def test_stale_timers_do_nothing(setup: Callable[[], ConnectionMachine], timer: Timer) -> None:
    """A timer that fires in a state where it no longer applies has no effect."""
    m = setup()
    before = (m.state, m.link_up, m.session, m.attempt, m.awaiting_token)
    assert m.timer_fired(timer, 1000.0) == []
    assert (m.state, m.link_up, m.session, m.attempt, m.awaiting_token) == before


# -- every (state, input) pair ------------------------------------------------------------

INPUTS: dict[str, Callable[[ConnectionMachine], list[Effect] | None]] = {
    "login": lambda m: m.login(),
    "logout": lambda m: m.logout(),
    "link_opened": lambda m: m.link_opened(50.0),
    "login_accepted": lambda m: m.login_accepted("sx", resumed=True, now=50.0),
    "link_lost": lambda m: m.link_lost(),
    "token_renewed": lambda m: m.token_renewed(),
    "traffic_seen": lambda m: m.traffic_seen(50.0),
    **{f"login_rejected_{c.name}": (lambda m, c=c: m.login_rejected(c)) for c in LoginErrCode},
    **{f"kicked_{r.name}": (lambda m, r=r: m.kicked(r)) for r in Reason},
    **{f"timer_{t.name}": (lambda m, t=t: m.timer_fired(t, 50.0)) for t in Timer},
}


STATE_INPUT_PAIRS = [
    pytest.param(
        s,
        i,
        id=f"{s}-{i}",
        marks=[],
    )
    for s in SETUPS
    for i in INPUTS
]


@pytest.mark.parametrize(("setup_name", "input_name"), STATE_INPUT_PAIRS)
def test_every_input_in_every_state_is_handled(setup_name: str, input_name: str) -> None:
    """Any input in any state answers a list of effects and leaves a valid state."""
    m = SETUPS[setup_name]()
    before = m.state
    effects = INPUTS[input_name](m)
    if input_name == "traffic_seen":
        assert effects is None
        effects = []
    assert isinstance(effects, list)
    assert all(isinstance(e, EFFECT_TYPES) for e in effects)
    assert isinstance(m.state, State)
    changes = [e for e in effects if isinstance(e, StateChanged)]
    assert len(changes) <= 1
    assert m.state is (changes[0].state if changes else before)
    if before is State.ABORTED and input_name != "logout":
        assert m.state is State.ABORTED
    if m.state is State.DISCONNECTED:
        assert m.session is None
        assert not m.link_up
    if m.link_up:
        assert m.state is State.CONNECTED


# -- backoff_delay --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (6, 10.0), (100, 10.0)],
)
def test_backoff_ceiling_doubles_to_the_cap(attempt: int, ceiling: float) -> None:
    """The un-jittered delay doubles from backoff_min and stops at backoff_max."""
    assert backoff_delay(attempt, T, 1.0) == ceiling
    assert backoff_delay(attempt, T, 0.0) == ceiling / 2
    assert backoff_delay(attempt, T, 0.5) == ceiling * 0.75


def test_backoff_huge_attempt_does_not_overflow() -> None:
    """Even an absurd attempt count answers backoff_max-bounded delays."""
    assert backoff_delay(10**12, T, 0.0) == T.backoff_max / 2


@given(
    attempt=st.integers(0, 10**6),
    jitter=st.floats(0.0, 1.0, exclude_max=True),
    backoff_min=st.floats(0.01, 5.0),
    backoff_max=st.floats(0.01, 120.0),
)
def test_backoff_is_bounded(
    attempt: int, jitter: float, backoff_min: float, backoff_max: float
) -> None:
    """Every delay lies in [ceiling/2, ceiling] and never above backoff_max."""
    assume(backoff_min <= backoff_max)
    t = Timings(backoff_min=backoff_min, backoff_max=backoff_max)
    ceiling = min(backoff_max, backoff_min * 2.0**attempt) if attempt < 64 else backoff_max
    delay = backoff_delay(attempt, t, jitter)
    assert 0.5 * ceiling <= delay <= ceiling
    assert delay <= backoff_max


@given(attempt=st.integers(0, 40), jitter=st.floats(0.0, 1.0, exclude_max=True))
def test_backoff_doubles_until_capped(attempt: int, jitter: float) -> None:
    """For a fixed jitter the next delay is twice this one, or the capped value."""
    now, nxt = backoff_delay(attempt, T, jitter), backoff_delay(attempt + 1, T, jitter)
    capped = T.backoff_max * (0.5 + 0.5 * jitter)
    assert nxt == pytest.approx(min(2 * now, capped))
    assert nxt >= now


# -- a model of the shell, for the stateful tests ---------------------------------------------


class TimerModel:
    """Which timers the shell would have running, from the effects it carried out."""

    def __init__(self) -> None:
        self.running: set[Timer] = set()

    def apply(self, effects: list[Effect]) -> None:
        for e in effects:
            if isinstance(e, StartTimer):
                self.running.add(e.timer)
            elif isinstance(e, CancelTimer):
                self.running.discard(e.timer)

    def fire(self, timer: Timer) -> None:
        self.running.discard(timer)


class Link(Enum):
    """The shell's websocket as the machine's effects leave it."""

    NONE = "none"  # no link, none being opened
    OPENING = "opening"  # OpenLink carried out, no result yet
    OPEN = "open"  # open, logging in or logged in
    UP = "up"  # the login on it was accepted


#: Every (from, to, reason) the Agora table (spec 1.2) allows.
LEGAL_CHANGES = {
    (State.DISCONNECTED, State.CONNECTING, Reason.LOGIN),
    (State.CONNECTING, State.CONNECTED, Reason.LOGIN_SUCCESS),
    (State.CONNECTING, State.DISCONNECTED, Reason.LOGIN_FAILURE),
    (State.CONNECTING, State.DISCONNECTED, Reason.LOGIN_TIMEOUT),
    (State.CONNECTED, State.RECONNECTING, Reason.INTERRUPTED),
    (State.RECONNECTING, State.CONNECTED, Reason.LOGIN_SUCCESS),
    *(
        (s, State.DISCONNECTED, Reason.LOGOUT)
        for s in (State.CONNECTING, State.CONNECTED, State.RECONNECTING, State.ABORTED)
    ),
    *(
        (s, State.ABORTED, r)
        for s in (State.CONNECTING, State.CONNECTED, State.RECONNECTING)
        for r in Reason
    ),
}

timings_strategy = st.builds(
    Timings,
    login_timeout=st.floats(1.0, 30.0),
    interrupt_after=st.floats(0.5, 10.0),
    attempt_timeout=st.floats(0.5, 10.0),
    backoff_min=st.floats(0.01, 2.0),
    backoff_max=st.floats(2.0, 60.0),
    heartbeat_interval=st.floats(0.5, 5.0),
    heartbeat_timeout=st.floats(1.0, 20.0),
)


class MachineChecks(RuleBasedStateMachine):
    """Shared set-up and the invariants that hold whatever the inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.m = ConnectionMachine()
        self.now = 0.0

    @initialize(timings=timings_strategy, jitter=st.floats(0.0, 1.0, exclude_max=True))
    def setup(self, timings: Timings, jitter: float) -> None:
        self.m = ConnectionMachine(timings, jitter=lambda: jitter)

    def call(self, name: str, fn: Callable[[], list[Effect]]) -> list[Effect]:
        """Run one input; check the effects against the state change it made."""
        before = self.m.state
        effects = fn()
        assert all(isinstance(e, EFFECT_TYPES) for e in effects)
        changes = [e for e in effects if isinstance(e, StateChanged)]
        assert len(changes) <= 1, effects
        if changes:
            change = changes[0]
            assert (before, change.state, change.reason) in LEGAL_CHANGES, (name, effects)
            assert self.m.state is change.state
        else:
            assert self.m.state is before, (name, effects)
        if before is State.ABORTED and name != "logout":
            assert self.m.state is State.ABORTED, name
        if LoginSucceeded() in effects:
            assert before is State.CONNECTING
        if any(isinstance(e, LinkRestored) for e in effects):
            assert before in (State.CONNECTED, State.RECONNECTING)
        t = self.m.timings
        bound = max(
            t.login_timeout,
            t.backoff_max,
            t.attempt_timeout,
            t.interrupt_after + t.backoff_max,  # (a stuck link's interrupt: from its retry)
            t.heartbeat_interval,
        )
        for e in effects:
            if isinstance(e, StartTimer):
                assert 0.0 <= e.delay <= bound, e
        return effects

    @rule(dt=st.floats(0.0, 10.0))
    def advance(self, dt: float) -> None:
        self.now += dt

    @invariant()
    def state_is_a_connection_state(self) -> None:
        assert isinstance(self.m.state, State)

    @invariant()
    def link_up_only_when_connected(self) -> None:
        if self.m.link_up:
            assert self.m.state is State.CONNECTED

    @invariant()
    def disconnected_holds_nothing(self) -> None:
        if self.m.state is State.DISCONNECTED:
            assert self.m.session is None
            assert not self.m.link_up
            assert not self.m.awaiting_token

    @invariant()
    def aborted_holds_nothing(self) -> None:
        if self.m.state is State.ABORTED:
            assert self.m.session is None
            assert not self.m.link_up


class ShellModel(MachineChecks):
    """The machine driven as the supervisor drives it: link events only for links it asked
    for, login replies only to a Login it sent, timers only while they run (in any order).

    On top of the shared invariants this checks the timers and the link the effects leave:
    nothing runs once logged out or aborted, and a logged-in machine is never stuck.
    """

    def __init__(self) -> None:
        super().__init__()
        self.timers = TimerModel()
        self.link = Link.NONE
        self.login_in_flight = False
        self.sessions = 0

    def run(self, name: str, fn: Callable[[], list[Effect]]) -> list[Effect]:
        effects = self.call(name, fn)
        for e in effects:
            if isinstance(e, OpenLink):
                assert self.link is Link.NONE, "opens a second link"
                self.link = Link.OPENING
            elif isinstance(e, CloseLink):
                self.link = Link.NONE
                self.login_in_flight = False
            elif isinstance(e, SendLogin):
                assert self.link is Link.OPEN, "Login without an open link"
                assert e.resume == self.m.session
                self.login_in_flight = True
            elif isinstance(e, SendLogout | SendPing):
                assert self.link is Link.UP, e
        self.timers.apply(effects)
        return effects

    # -- the application

    @rule()
    def login(self) -> None:
        self.run("login", self.m.login)

    @rule()
    def logout(self) -> None:
        self.run("logout", self.m.logout)

    @rule()
    def token_renewed(self) -> None:
        self.run("token_renewed", self.m.token_renewed)

    # -- the link

    @precondition(lambda self: self.link is Link.OPENING)
    @rule()
    def link_opened(self) -> None:
        self.link = Link.OPEN
        self.run("link_opened", lambda: self.m.link_opened(self.now))

    @precondition(lambda self: self.link is not Link.NONE)
    @rule()
    def link_lost(self) -> None:
        """The link failed to open, closed, or broke."""
        self.link = Link.NONE
        self.login_in_flight = False
        self.run("link_lost", self.m.link_lost)

    @precondition(lambda self: self.link is Link.UP)
    @rule(links=st.integers(1, 40))
    def link_stuck(self, links: int) -> None:
        """The shell drops a working link at a fault the last ``links`` links hit."""
        self.m.link_stuck(links)
        self.link_lost()

    @precondition(lambda self: self.link in (Link.OPEN, Link.UP))
    @rule(reason=st.sampled_from(Reason), by_close=st.booleans())
    def kicked(self, reason: Reason, by_close: bool) -> None:
        """A Kick frame, or a terminal close code (then the link is already gone)."""
        if by_close:
            self.link = Link.NONE
            self.login_in_flight = False
        self.run("kicked", lambda: self.m.kicked(reason))

    @precondition(lambda self: self.login_in_flight)
    @rule(resumed=st.booleans())
    def login_accepted(self, resumed: bool) -> None:
        self.login_in_flight = False
        self.sessions += 1
        session = f"s{self.sessions}"
        effects = self.run(
            "login_accepted", lambda: self.m.login_accepted(session, resumed=resumed, now=self.now)
        )
        if CloseLink() not in effects:
            self.link = Link.UP
            assert self.m.session == session

    @precondition(lambda self: self.login_in_flight)
    @rule(code=st.sampled_from(LoginErrCode))
    def login_rejected(self, code: LoginErrCode) -> None:
        self.login_in_flight = False
        self.run("login_rejected", lambda: self.m.login_rejected(code))

    @precondition(lambda self: self.link in (Link.OPEN, Link.UP))
    @rule()
    def traffic_seen(self) -> None:
        assert self.m.traffic_seen(self.now) is None

    # -- timers

    @precondition(lambda self: bool(self.timers.running))
    @rule(data=st.data())
    def timer_fired(self, data: st.DataObject) -> None:
        timer = data.draw(st.sampled_from(sorted(self.timers.running, key=lambda t: t.value)))
        self.timers.fire(timer)
        self.run(f"timer_{timer.name}", lambda: self.m.timer_fired(timer, self.now))

    # -- invariants

    @invariant()
    def link_up_matches_the_link(self) -> None:
        assert self.m.link_up is (self.link is Link.UP)

    @invariant()
    def logged_out_means_no_link_and_no_timers(self) -> None:
        if self.m.state in (State.DISCONNECTED, State.ABORTED):
            assert self.link is Link.NONE
            assert self.timers.running == set()

    @invariant()
    def login_timer_runs_exactly_while_connecting(self) -> None:
        assert (Timer.LOGIN in self.timers.running) is (self.m.state is State.CONNECTING)

    @invariant()
    def interrupt_timer_runs_exactly_while_connected_with_link_down(self) -> None:
        expected = self.m.state is State.CONNECTED and not self.m.link_up
        assert (Timer.INTERRUPT in self.timers.running) is expected

    @invariant()
    def heartbeat_runs_exactly_while_link_up(self) -> None:
        assert (Timer.HEARTBEAT in self.timers.running) is self.m.link_up

    @invariant()
    def attempt_timer_only_while_an_attempt_is_in_flight(self) -> None:
        """ATTEMPT runs for an attempt in flight; one left over by a login that succeeded
        on a retry (CONNECTING does not cancel it) is inert while the link is up."""
        if Timer.ATTEMPT in self.timers.running:
            assert self.link in (Link.OPENING, Link.OPEN) or self.m.link_up

    @invariant()
    def reconnect_timer_only_without_a_link(self) -> None:
        if Timer.RECONNECT in self.timers.running:
            assert self.link is Link.NONE

    @invariant()
    def awaiting_token_means_waiting_for_the_app_only(self) -> None:
        if self.m.awaiting_token:
            assert self.m.state is State.RECONNECTING
            assert self.link is Link.NONE
            assert self.timers.running.isdisjoint({Timer.RECONNECT, Timer.ATTEMPT})

    @invariant()
    def logged_in_but_down_is_never_stuck(self) -> None:
        """Down and not waiting for a token: a retry is scheduled or an attempt is bounded."""
        if (
            self.m.state in (State.CONNECTED, State.RECONNECTING)
            and not self.m.link_up
            and not self.m.awaiting_token
        ):
            waiting = self.link is Link.NONE and Timer.RECONNECT in self.timers.running
            trying = self.link is not Link.NONE and Timer.ATTEMPT in self.timers.running
            assert waiting or trying


TestShellModel = ShellModel.TestCase
TestShellModel.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)


class AnyOrder(MachineChecks):
    """Every input at any time, whether or not a shell could produce it (stale timers,
    late replies, duplicate link events): the shared invariants still hold.

    One exception: ``login_rejected`` is not fed while ``link_up``. A rejection answers a
    Login, and no Login is in flight once one was accepted; fed one anyway, the machine
    would keep ``link_up`` set after CloseLink (a token rejection even in RECONNECTING).
    """

    @rule()
    def login(self) -> None:
        self.call("login", self.m.login)

    @rule()
    def logout(self) -> None:
        self.call("logout", self.m.logout)

    @rule()
    def token_renewed(self) -> None:
        self.call("token_renewed", self.m.token_renewed)

    @rule()
    def link_opened(self) -> None:
        self.call("link_opened", lambda: self.m.link_opened(self.now))

    @rule(session=st.text(min_size=1, max_size=4), resumed=st.booleans())
    def login_accepted(self, session: str, resumed: bool) -> None:
        self.call(
            "login_accepted", lambda: self.m.login_accepted(session, resumed=resumed, now=self.now)
        )

    @precondition(lambda self: not self.m.link_up)
    @rule(code=st.sampled_from(LoginErrCode))
    def login_rejected(self, code: LoginErrCode) -> None:
        self.call("login_rejected", lambda: self.m.login_rejected(code))

    @rule()
    def link_lost(self) -> None:
        self.call("link_lost", self.m.link_lost)

    @rule(links=st.integers(0, 40))
    def link_stuck(self, links: int) -> None:
        self.m.link_stuck(links)

    @rule(reason=st.sampled_from(Reason))
    def kicked(self, reason: Reason) -> None:
        self.call("kicked", lambda: self.m.kicked(reason))

    @rule(timer=st.sampled_from(Timer))
    def timer_fired(self, timer: Timer) -> None:
        self.call(f"timer_{timer.name}", lambda: self.m.timer_fired(timer, self.now))

    @rule()
    def traffic_seen(self) -> None:
        assert self.m.traffic_seen(self.now) is None


TestAnyOrder = AnyOrder.TestCase
TestAnyOrder.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
