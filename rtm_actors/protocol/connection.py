"""The client's connection state machine (Agora's states and reasons), sans-IO.

Theory of operation
-------------------
Agora exposes five states (``ConnectionState``) and says why each change happened
(``ConnectionChangeReason``). Under them sits the link, the one websocket, which can
drop and come back many times while the user stays logged in. The machine keeps both:

* ``state`` is what the application sees;
* ``link_up`` is whether a logged-in websocket is working right now.

A dropped link does not change ``state`` at once: Agora reports ``RECONNECTING`` /
``INTERRUPTED`` only when the link stays down for ``interrupt_after`` seconds (4 s).
Meanwhile the machine retries with capped, jittered exponential backoff, and a
reconnect that succeeds reports ``CONNECTED`` / ``LOGIN_SUCCESS`` without
``on_login_success`` (``LoginSucceeded`` is only emitted for an explicit login).

A link the shell drops on purpose at a fault no resume can cure (``link_stuck``: a
middlebox that loses the same push on every link) is retried with the same backoff
as failed attempts, one step further for each link that hit it, so the client does
not log in again every half second forever. Its interrupt timer starts only when
that retry does: the wait is the client's own choice, and the application hears of
the drop only if the resume itself then takes too long, as for any other drop.

Inputs are the methods below; each returns the effects for the shell to carry out, in
order. Time never enters except as timer expiries the shell reports back, and
randomness (backoff jitter) comes from an injected function. The machine never logs.

=============  ====================  ==================================================
state          input                 result
=============  ====================  ==================================================
DISCONNECTED   login                 CONNECTING/LOGIN, open link, login timer
CONNECTING     link opened           send Login
CONNECTING     login accepted        CONNECTED/LOGIN_SUCCESS, LoginSucceeded
CONNECTING     login rejected        DISCONNECTED/LOGIN_FAILURE, LoginFailed(code)
CONNECTING     login timer           DISCONNECTED/LOGIN_TIMEOUT, LoginFailed(TIMEOUT)
CONNECTING     link lost             retry after backoff (until the login timer)
CONNECTED      link lost             retry after backoff, interrupt timer
CONNECTED      link stuck(n)         the next drop's retry backs off n-1 steps more
CONNECTED      interrupt timer       RECONNECTING/INTERRUPTED
CONNECTED      kicked(reason)        ABORTED/reason
RECONNECTING   login accepted        CONNECTED/LOGIN_SUCCESS, LinkRestored
RECONNECTING   login rejected        token: TokenExpired, wait for renew; else ABORTED
any but DISC.  logout                DISCONNECTED/LOGOUT, LoggedOut
=============  ====================  ==================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from rtm_actors.protocol.codes import (
    ConnectionChangeReason as Reason,
    ConnectionState as State,
    LoginErrCode,
)


class Timer(Enum):
    """The timers the machine asks the shell to run."""

    LOGIN = "login"
    INTERRUPT = "interrupt"
    RECONNECT = "reconnect"
    ATTEMPT = "attempt"
    HEARTBEAT = "heartbeat"


# -- effects ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateChanged:
    """Tell the application: ``on_connection_state_changed(state, reason)``."""

    state: State
    reason: Reason


@dataclass(frozen=True, slots=True)
class OpenLink:
    """Open a websocket to the server; report ``link_opened`` or ``link_lost``."""


@dataclass(frozen=True, slots=True)
class CloseLink:
    """Close the websocket, if one is open."""


@dataclass(frozen=True, slots=True)
class SendLogin:
    """Send a ``Login`` frame; ``resume`` is the session key to resume, if any."""

    resume: str | None


@dataclass(frozen=True, slots=True)
class SendLogout:
    """Send a ``Logout`` frame before closing."""


@dataclass(frozen=True, slots=True)
class SendPing:
    """Send a heartbeat."""


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Start (or restart) timer ``timer`` to fire after ``delay`` seconds."""

    timer: Timer
    delay: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Cancel timer ``timer`` if it runs."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class LoginSucceeded:
    """Fire ``on_login_success`` and resolve the login future."""


@dataclass(frozen=True, slots=True)
class LoginFailed:
    """Fire ``on_login_failure(code)`` and fail the login future."""

    code: LoginErrCode


@dataclass(frozen=True, slots=True)
class LinkRestored:
    """The link is back after a drop; ``resumed`` says the server kept the session."""

    resumed: bool


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link dropped while logged in: hold outgoing requests until it is back."""


@dataclass(frozen=True, slots=True)
class TokenExpired:
    """Fire ``on_token_expired``: the app must ``renew_token`` to go on reconnecting."""


@dataclass(frozen=True, slots=True)
class LoggedOut:
    """The session ended (logout, kick): fail what is pending, clear session state."""

    reason: Reason


Effect = (
    StateChanged
    | OpenLink
    | CloseLink
    | SendLogin
    | SendLogout
    | SendPing
    | StartTimer
    | CancelTimer
    | LoginSucceeded
    | LoginFailed
    | LinkRestored
    | LinkDown
    | TokenExpired
    | LoggedOut
)


@dataclass(frozen=True, slots=True)
class Timings:
    """Every timing of the machine; defaults are Agora's where Agora has one."""

    login_timeout: float = 12.0
    interrupt_after: float = 4.0
    attempt_timeout: float = 6.0
    backoff_min: float = 0.5
    backoff_max: float = 10.0
    #: A protocol ping proves the server process runs (a dead host or network is
    #: found by the kernel's keepalive, ``client/link.py``): rare, as socket.io's 25 s.
    heartbeat_interval: float = 10.0
    #: Nothing received for this long: the link is dead (checked at each heartbeat).
    heartbeat_timeout: float = 15.0
    #: After sending ``logout``: how long to wait for the server's close, then close.
    logout_wait: float = 6.0


class Beat(Enum):
    """What a heartbeat does (``heartbeat``)."""

    #: Frames went both ways within the interval: nothing to do yet.
    QUIET = "quiet"
    #: Quiet for an interval: ping the server.
    PING = "ping"
    #: Nothing received for longer than the timeout: the link is dead.
    SILENT = "silent"


def heartbeat(now: float, last_rx: float, last_tx: float, timings: Timings) -> tuple[Beat, float]:
    """The heartbeat's decision at ``now``, given when a frame last came in and went
    out, and the delay until it should look again.

    Frames both ways within the interval prove the link alive and let the server hear
    from us: no ping yet, and the next look comes when one falls due (a whole interval
    later, the silence could have run past the timeout, ending a healthy link that
    never had a ping). The shell may run this outside the machine's turn (the client's
    per-process heartbeat does, on the hub) and hand only ``SILENT`` to the machine.
    """
    if now - last_rx > timings.heartbeat_timeout:
        return Beat.SILENT, 0.0
    interval = timings.heartbeat_interval
    quiet = now - min(last_rx, last_tx)
    if quiet < interval:
        return Beat.QUIET, interval - quiet
    return Beat.PING, interval


def backoff_delay(attempt: int, timings: Timings, jitter: float) -> float:
    """Delay before reconnect attempt ``attempt`` (0-based): capped, "equal jitter".

    The un-jittered delay doubles from ``backoff_min`` up to ``backoff_max``; the
    result lies in [half of it, all of it], so clients that lost the same server
    spread their reconnects out. ``jitter`` is a number in [0, 1).
    """
    ceiling = min(timings.backoff_max, timings.backoff_min * 2.0 ** min(attempt, 32))
    return ceiling * (0.5 + 0.5 * jitter)


class ConnectionMachine:
    """The client's connection state: Agora's state plus whether the link is up."""

    def __init__(
        self, timings: Timings | None = None, jitter: Callable[[], float] = lambda: 0.5
    ) -> None:
        self.timings = timings or Timings()
        self._jitter = jitter
        self.state = State.DISCONNECTED
        self.link_up = False
        #: Session key of the server-side session; set at login, kept across drops.
        self.session: str | None = None
        #: Reconnect attempts since the link last worked.
        self.attempt = 0
        #: Waiting for ``renew_token`` before trying again.
        self.awaiting_token = False
        #: Links running dropped at the same fault (``link_stuck``), for the next retry.
        self.stuck = 0
        self._last_rx = 0.0
        #: When the shell last sent a frame (never, until it says so).
        self._last_tx = float("-inf")

    # -- application calls ---------------------------------------------------

    def login(self) -> list[Effect]:
        """The app called ``login``; the shell has checked the state is DISCONNECTED."""
        if self.state is not State.DISCONNECTED:
            return [LoginFailed(LoginErrCode.ALREADY_LOGGED_IN)]
        self.session = None
        self.attempt = 0
        return [
            *self._become(State.CONNECTING, Reason.LOGIN),
            StartTimer(Timer.LOGIN, self.timings.login_timeout),
            OpenLink(),
        ]

    def logout(self) -> list[Effect]:
        """The app called ``logout``: end everything, whatever the state."""
        if self.state is State.DISCONNECTED:
            return []
        effects: list[Effect] = [SendLogout()] if self.link_up else []
        effects += self._end(State.DISCONNECTED, Reason.LOGOUT)
        return effects

    def token_renewed(self) -> list[Effect]:
        """The app gave a new token while reconnecting: try again at once."""
        if self.state is State.RECONNECTING and self.awaiting_token:
            self.awaiting_token = False
            self.attempt = 0
            return [OpenLink(), StartTimer(Timer.ATTEMPT, self.timings.attempt_timeout)]
        return []

    # -- link events ---------------------------------------------------------

    def link_opened(self, now: float) -> list[Effect]:
        """The websocket is open: log in, resuming the session if there is one."""
        if self.state is State.DISCONNECTED or self.state is State.ABORTED:
            return [CloseLink()]
        self._last_rx = now
        return [SendLogin(self.session)]

    def login_accepted(self, session: str, *, resumed: bool, now: float) -> list[Effect]:
        """The server accepted the login (or the resume)."""
        self._last_rx = now
        was = self.state
        if was is State.DISCONNECTED or was is State.ABORTED:
            return [CloseLink()]
        self.session = session
        self.link_up = True
        self.attempt = 0
        heartbeat = StartTimer(Timer.HEARTBEAT, self.timings.heartbeat_interval)
        if was is State.CONNECTING:
            return [
                CancelTimer(Timer.LOGIN),
                *self._become(State.CONNECTED, Reason.LOGIN_SUCCESS),
                LoginSucceeded(),
                heartbeat,
            ]
        effects: list[Effect] = [
            CancelTimer(Timer.ATTEMPT),
            CancelTimer(Timer.INTERRUPT),
        ]
        if was is State.RECONNECTING:
            effects += self._become(State.CONNECTED, Reason.LOGIN_SUCCESS)
        return [*effects, LinkRestored(resumed=resumed), heartbeat]

    def login_rejected(self, code: LoginErrCode) -> list[Effect]:
        """The server refused the login."""
        if self.link_up:
            return []  # a login already accepted on this link: a stray reply changes nothing
        if self.state is State.CONNECTING:
            return [
                CancelTimer(Timer.LOGIN),
                CancelTimer(Timer.RECONNECT),
                CancelTimer(Timer.ATTEMPT),
                CloseLink(),
                *self._become(State.DISCONNECTED, Reason.LOGIN_FAILURE),
                LoginFailed(code),
            ]
        if self.state is State.DISCONNECTED or self.state is State.ABORTED:
            return []
        if code in (LoginErrCode.TOKEN_EXPIRED, LoginErrCode.INVALID_TOKEN):
            effects: list[Effect] = [CancelTimer(Timer.ATTEMPT), CloseLink()]
            if self.state is State.CONNECTED:
                effects += self._become(State.RECONNECTING, Reason.INTERRUPTED)
            self.awaiting_token = True
            return [*effects, CancelTimer(Timer.INTERRUPT), TokenExpired()]
        if code in (LoginErrCode.REJECTED, LoginErrCode.NOT_AUTHORIZED):
            return self._end(State.ABORTED, Reason.BANNED_BY_SERVER)
        # Anything else (too often, a server hiccup) is worth another try later.
        return [CancelTimer(Timer.ATTEMPT), CloseLink(), self._retry_timer()]

    def link_lost(self) -> list[Effect]:
        """The websocket closed, failed to open, or went silent."""
        stuck, self.stuck = self.stuck, 0
        if self.state in (State.DISCONNECTED, State.ABORTED) or self.awaiting_token:
            return []
        effects: list[Effect] = [
            CancelTimer(Timer.HEARTBEAT),
            CancelTimer(Timer.ATTEMPT),
        ]
        retry = self._retry_timer(stuck)
        if self.link_up:
            self.link_up = False
            effects.append(LinkDown())
            if self.state is State.CONNECTED:
                # A drop on purpose waits out its backoff first: count from the retry.
                held = retry.delay if stuck else 0.0
                effects.append(StartTimer(Timer.INTERRUPT, self.timings.interrupt_after + held))
        return [*effects, retry]

    def link_stuck(self, links: int) -> None:
        """The shell is dropping the link at a fault that the last ``links`` links hit
        alike (``push_order``: a push a middlebox loses every time); ``link_lost``
        follows. Resuming at once would only meet it again: that retry backs off as if
        ``links - 1`` attempts had failed, doubling up to ``backoff_max``. The count
        comes from the shell, and is 1 again once a link gets past the fault."""
        self.stuck = links

    def kicked(self, reason: Reason) -> list[Effect]:
        """The server ended the session for good (remote login, ban, token expiry)."""
        if self.state in (State.DISCONNECTED, State.ABORTED):
            return []
        return self._end(State.ABORTED, reason)

    # -- timers and traffic --------------------------------------------------

    def timer_fired(self, timer: Timer, now: float) -> list[Effect]:
        """A timer the machine started has expired."""
        if timer is Timer.LOGIN and self.state is State.CONNECTING:
            return [
                CloseLink(),
                CancelTimer(Timer.RECONNECT),
                CancelTimer(Timer.ATTEMPT),
                *self._become(State.DISCONNECTED, Reason.LOGIN_TIMEOUT),
                LoginFailed(LoginErrCode.TIMEOUT),
            ]
        if timer is Timer.INTERRUPT and self.state is State.CONNECTED and not self.link_up:
            return self._become(State.RECONNECTING, Reason.INTERRUPTED)
        if timer is Timer.RECONNECT and self._retrying():
            return [OpenLink(), StartTimer(Timer.ATTEMPT, self.timings.attempt_timeout)]
        if timer is Timer.ATTEMPT and self._retrying():
            return [CloseLink(), *self.link_lost()]
        if timer is Timer.HEARTBEAT and self.link_up:
            beat, delay = heartbeat(now, self._last_rx, self._last_tx, self.timings)
            if beat is Beat.SILENT:
                return [CloseLink(), *self.link_lost()]
            if beat is Beat.QUIET:
                return [StartTimer(Timer.HEARTBEAT, delay)]
            return [SendPing(), StartTimer(Timer.HEARTBEAT, delay)]
        return []

    def traffic_seen(self, now: float) -> None:
        """Any frame arrived: the link is alive."""
        self._last_rx = now

    def traffic_sent(self, now: float) -> None:
        """A frame went out at ``now`` (with one in too, no ping is due that interval)."""
        self._last_tx = now

    # -- helpers -------------------------------------------------------------

    def _retrying(self) -> bool:
        return (
            self.state in (State.CONNECTING, State.CONNECTED, State.RECONNECTING)
            and not self.link_up
            and not self.awaiting_token
        )

    def _retry_timer(self, stuck: int = 0) -> StartTimer:
        """The reconnect timer for the next attempt; ``stuck`` links that hit the same
        fault count as failed attempts (the one before them worked: ``attempt`` is 0)."""
        attempt = max(self.attempt, stuck - 1)
        self.attempt = attempt + 1
        return StartTimer(Timer.RECONNECT, backoff_delay(attempt, self.timings, self._jitter()))

    def _become(self, state: State, reason: Reason) -> list[Effect]:
        self.state = state
        return [StateChanged(state, reason)]

    def _end(self, state: State, reason: Reason) -> list[Effect]:
        """Leave the logged-in world: stop every timer, close, forget the session."""
        self.link_up = False
        self.session = None
        self.awaiting_token = False
        self.attempt = 0
        cancels: list[Effect] = [CancelTimer(t) for t in Timer]
        return [*cancels, CloseLink(), *self._become(state, reason), LoggedOut(reason)]
