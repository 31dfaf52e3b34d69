"""``SimulatedUser``: one real SDK client (``RtmService`` and its actors) under load.

A Locust-like API: subclass ``SimulatedUser``, mark methods with ``@task(weight)``,
set ``wait_time`` (``constant_pacing``, ``constant``, ``between``), and use the
measured helpers (``send_peer``, ``send_channel``, ``query``, ``invite``, ``join``,
``drop``) inside tasks. The runner logs users in, calls ``setup`` then runs the
tasks until the run ends. Results come back through the SDK's callbacks, so a task
never waits on the network and the schedule holds even when the server is slow.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import gevent

from rtm_actors.client.calls import LocalCallInvitation, RemoteCallInvitation, RtmCallManager
from rtm_actors.client.channel import Channel
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.handlers import (
    ChannelEventHandler,
    RtmCallEventHandler,
    RtmServiceEventHandler,
)
from rtm_actors.client.service import AgoraService
from rtm_actors.client.values import Message
from rtm_actors.loadtest.scenario import Plan, Scenario, UserPlan
from rtm_actors.loadtest.stats import (
    CHANNEL_STREAM,
    INVITE_STREAM,
    PEER_STREAM,
    Stats,
    error_name,
    member_key,
    parse_stamp,
    stamp,
    stream_key,
)
from rtm_actors.protocol.codes import (
    ChannelMessageErrCode,
    ConnectionChangeReason,
    ConnectionState,
    InvitationApiCallErrCode,
    PeerMessageErrCode,
    QueryPeersOnlineStatusErr,
)
from rtm_actors.protocol.errors import RtmError

F = TypeVar("F", bound=Callable[..., Any])

#: Seconds a setup step (login, join, subscribe) may take before it counts as failed.
SETUP_TIMEOUT = 30.0


# -- tasks and wait times -------------------------------------------------------------


def task(weight: int | F = 1) -> Any:
    """Mark a method as a task; ``@task`` or ``@task(3)`` (picked 3x as often)."""

    def mark(fn: F, w: int) -> F:
        fn.task_weight = w  # type: ignore[attr-defined]
        return fn

    if callable(weight):
        return mark(weight, 1)
    return lambda fn: mark(fn, int(weight))


class WaitTime(Protocol):
    """When the next task is due, given when the last one was due and ``now``."""

    def __call__(self, user: SimulatedUser, last_due: float, now: float) -> float: ...


def constant_pacing(seconds: float) -> WaitTime:
    """A task every ``seconds``, on a fixed schedule: a late task does not delay the
    next slot, and latency is measured from the slot (no coordinated omission)."""

    def wait(user: SimulatedUser, last_due: float, now: float) -> float:
        return last_due + seconds

    return wait


def constant_throughput(per_second: float) -> WaitTime:
    """``per_second`` tasks a second on a fixed schedule (``constant_pacing(1/n)``)."""
    return constant_pacing(1.0 / per_second)


def constant(seconds: float) -> WaitTime:
    """Wait ``seconds`` after each task ends."""

    def wait(user: SimulatedUser, last_due: float, now: float) -> float:
        return now + seconds

    return wait


def between(low: float, high: float) -> WaitTime:
    """Wait a random time in ``[low, high]`` after each task (the user's own RNG)."""

    def wait(user: SimulatedUser, last_due: float, now: float) -> float:
        return now + user.random.uniform(low, high)

    return wait


# -- what the runner shares with its users ----------------------------------------


class Observer(Protocol):
    """A hook that sees every acknowledgement and delivery (tests count with it)."""

    def acked(self, user_id: str, key: str, seq: int) -> None: ...

    def delivered(self, user_id: str, key: str, seq: int) -> None: ...


class MessageBudget:
    """The hard cap on messages a process sends in a run."""

    __slots__ = ("capped", "left")

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.capped = False

    def take(self) -> bool:
        """Spend one message; answer False once the cap is reached."""
        if self.left <= 0:
            self.capped = True
            return False
        self.left -= 1
        return True


@dataclass
class UserContext:
    """What every simulated user of a process shares."""

    plan: Plan
    stats: Stats
    agora: AgoraService
    url: str
    app_id: str = "loadtest"
    config: ClientConfig = field(default_factory=ClientConfig)
    message_size: int = 64
    budget: MessageBudget = field(default_factory=lambda: MessageBudget(1_000_000))
    observer: Observer | None = None
    #: Wall-clock start and end of the traffic phase (set by the runner at "go").
    go_at: float = 0.0
    end_at: float = 0.0
    #: The wall clock (one host: every process of a run reads the same one).
    clock: Callable[[], float] = time.time


# -- the callbacks, routed to the user ------------------------------------------------


class _ServiceHandler(RtmServiceEventHandler):
    __slots__ = ("user",)

    def __init__(self, user: SimulatedUser) -> None:
        self.user = user

    def on_login_success(self) -> None:
        self.user._login_done(None)

    def on_login_failure(self, error_code: Any) -> None:
        self.user._login_done(error_code)

    def on_connection_state_changed(
        self, state: ConnectionState, reason: ConnectionChangeReason
    ) -> None:
        self.user._state_changed(state, reason)

    def on_send_message_result(self, message_id: int, error_code: PeerMessageErrCode) -> None:
        self.user._send_result(message_id, error_code, PeerMessageErrCode.OK)

    def on_message_received_from_peer(self, peer_id: str, message: Message) -> None:
        self.user.on_peer_message(peer_id, message)

    def on_query_peers_online_status_result(
        self, request_id: int, peers_status: Any, error_code: Any
    ) -> None:
        self.user._op_result(request_id, error_code)

    def on_peers_online_status_changed(self, peers_status: Any) -> None:
        self.user.on_presence(peers_status)


class _ChannelHandler(ChannelEventHandler):
    __slots__ = ("channel_id", "user")

    def __init__(self, user: SimulatedUser, channel_id: str) -> None:
        self.user = user
        self.channel_id = channel_id

    def on_message_received(self, user_id: str, message: Message) -> None:
        self.user.on_channel_message(self.channel_id, user_id, message)

    def on_send_message_result(self, message_id: int, error_code: ChannelMessageErrCode) -> None:
        self.user._send_result(message_id, error_code, ChannelMessageErrCode.OK)


class _CallHandler(RtmCallEventHandler):
    __slots__ = ("user",)

    def __init__(self, user: SimulatedUser) -> None:
        self.user = user

    def on_local_invitation_received_by_peer(self, local_invitation: Any) -> None:
        self.user._invitation_acked(local_invitation)

    def on_local_invitation_accepted(self, local_invitation: Any, response: str) -> None:
        self.user._invitation_ended(local_invitation, None)

    def on_local_invitation_refused(self, local_invitation: Any, response: str) -> None:
        self.user._invitation_ended(local_invitation, "invitation.REFUSED")

    def on_local_invitation_canceled(self, local_invitation: Any) -> None:
        self.user._invitation_ended(local_invitation, "invitation.CANCELED")

    def on_local_invitation_failure(self, local_invitation: Any, error_code: Any) -> None:
        self.user._invitation_ended(local_invitation, error_name(error_code))

    def on_remote_invitation_received(self, remote_invitation: Any) -> None:
        self.user.on_invitation(remote_invitation)

    def on_remote_invitation_failure(self, remote_invitation: Any, error_code: Any) -> None:
        self.user._error(error_name(error_code))


# -- the simulated user ------------------------------------------------------------


class SimulatedUser:
    """A simulated user: a real ``RtmService``, driven by tasks.

    Subclass it, mark methods with ``@task`` and set ``wait_time``. ``self.plan``
    says who this user talks to (``partners``), its ``channels`` and
    ``subscriptions``; ``self.random`` is seeded from the plan, so a seed replays
    the same choices. Set the class attribute ``scenario`` to shape the plan.
    """

    #: When the next task is due (default: one task a second, on a fixed schedule).
    wait_time: ClassVar[WaitTime] = constant_pacing(1.0)
    #: The scenario the plan is built from when this class is the run's user class.
    scenario: ClassVar[Scenario | None] = None
    _tasks: ClassVar[tuple[tuple[Callable[..., Any], int], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, tuple[Callable[..., Any], int]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                weight = getattr(value, "task_weight", None)
                if weight is not None and callable(value):
                    found[name] = (value, weight)
        cls._tasks = tuple(found.values())

    def __init__(self, context: UserContext, plan: UserPlan) -> None:
        self.context = context
        self.plan = plan
        self.user_id = plan.user_id
        self._random: random.Random | None = None
        self.stats = context.stats
        #: The slot the current task was due at (latency is measured from it).
        self.intended = 0.0
        self.logged_in = False
        self.rtm = context.agora.create_rtm_service()
        self.rtm.initialize(
            context.app_id, _ServiceHandler(self), server_url=context.url, config=context.config
        )
        self.calls: RtmCallManager | None = self.rtm.get_rtm_call_manager(_CallHandler(self))
        self.channels: dict[str, Channel] = {}
        self._joined_at: dict[str, float] = {}
        self._seqs: dict[str, int] = {}
        #: message id -> (stream key, seq); request id -> (op, started); invitation id ->
        #: (stream key, seq, intended).
        self._sends: dict[int, tuple[str, int]] = {}
        self._ops: dict[int, tuple[str, float]] = {}
        self._invitations: dict[int, tuple[str, int, float]] = {}
        self._login_op = "login"
        self._login_started = 0.0
        self._down_since = 0.0
        self.interrupted = False
        #: The connection state its last callback gave (counted in ``live_states``).
        self.state_name = ConnectionState.DISCONNECTED.name
        self.stats.live_states[self.state_name] += 1

    @property
    def random(self) -> random.Random:
        """This user's random numbers, seeded from the plan (made on first use: ~3 KiB
        a user that the built-in scenarios do not need)."""
        if self._random is None:
            self._random = random.Random(self.plan.seed)
        return self._random

    # -- lifecycle (the runner calls these) -------------------------------------------

    def start_login(self, op: str = "login") -> Any:
        """Start logging in; the time to ``on_login_success`` is recorded as ``op``."""
        self._login_op = op
        self._login_started = self.context.clock()
        return self.rtm.login(None, self.user_id)

    def finish_login(self, future: Any, timeout: float = SETUP_TIMEOUT) -> bool:
        """Wait for a login started by ``start_login``; answer whether it succeeded."""
        if self._wait(future, timeout, record=False):  # failures: on_login_failure counts
            self.logged_in = True
        return self.logged_in

    def setup(self) -> None:
        """After login, before the traffic: join channels, subscribe (may block)."""

    def run(self) -> None:
        """Run tasks from the start of the traffic phase until its end."""
        if not self._tasks:
            return
        clock = self.context.clock
        functions = [fn for fn, _ in self._tasks]
        weights = [w for _, w in self._tasks]
        due = self.context.go_at + self.plan.offset
        while due < self.context.end_at:
            now = clock()
            if due > now:
                gevent.sleep(due - now)
            self.intended = due
            self.stats.record_op("schedule_lag", clock() - due)
            self.stats.counters["actions_done"] += 1
            fn = self.random.choices(functions, weights)[0] if len(functions) > 1 else functions[0]
            self.run_task(fn)
            due = type(self).wait_time(self, due, clock())

    def run_task(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call one task; an exception counts as an error named after its class."""
        try:
            fn(self, *args)
        except (RtmError, gevent.Timeout) as exc:
            code = getattr(exc, "code", None)
            self._error(error_name(code) if code is not None else f"exception.{type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - a user task's bug is an error, not a crash
            self._error(f"exception.{type(exc).__name__}")

    def finish(self) -> None:
        """After the run: report channel memberships (for the loss count)."""
        go = self.context.go_at
        for channel_id in self.channels:
            joined = self._joined_at.get(channel_id)
            if joined is not None:
                full = joined <= go and not self.interrupted
                self.stats.record_member(channel_id, self.user_id, full=full)

    def release(self) -> None:
        """Log out and stop this user's actors (its channels' too)."""
        for channel in self.channels.values():
            channel.release()
        self.channels.clear()
        self.rtm.release()

    @property
    def in_flight(self) -> int:
        """Sends and invitations still waiting for their outcome."""
        return len(self._sends) + len(self._invitations)

    # -- measured actions for tasks ---------------------------------------------------

    def send_peer(self, peer_id: str) -> None:
        """Send a stamped peer message; its outcome and delivery are measured."""
        if not self.context.budget.take():
            return
        key = stream_key(PEER_STREAM, self.user_id, peer_id)
        message = self._message(key)
        self.rtm.send_message_to_peer(peer_id, message)

    def send_channel(self, channel_id: str) -> None:
        """Send a stamped message to a joined channel (see ``join``)."""
        channel = self.channels.get(channel_id)
        if channel is None:
            self._error("loadtest.NOT_JOINED")
            return
        if not self.context.budget.take():
            return
        message = self._message(stream_key(CHANNEL_STREAM, self.user_id, channel_id))
        channel.send_message(message)

    def query(self, peer_ids: list[str] | tuple[str, ...]) -> None:
        """Query peers' online status; the answer's latency is recorded as ``query``."""
        future = self.rtm.query_peers_online_status(list(peer_ids))
        if future.request_id is not None:
            # Even a call refused locally has its result callback still to come.
            self._ops[future.request_id] = ("query", self.intended or self.context.clock())

    def invite(self, callee_id: str, channel_id: str = "") -> None:
        """Invite ``callee_id`` to a call; delivery, acceptance and failures are measured."""
        if self.calls is None or not self.context.budget.take():
            return
        key = stream_key(INVITE_STREAM, self.user_id, callee_id)
        seq = self._next_seq(key)
        intended = self.intended or self.context.clock()
        invitation = self.calls.create_local_call_invitation(callee_id)
        invitation.content = stamp(self.user_id, seq, intended)
        invitation.channel_id = channel_id
        self.stats.record_sent(self.context.clock())
        code = self.calls.send_local_invitation(invitation)
        if code is not InvitationApiCallErrCode.OK:
            self._error(error_name(code))
            return
        self._invitations[invitation.invitation_id] = (key, seq, intended)

    def join(self, channel_id: str, timeout: float = SETUP_TIMEOUT) -> bool:
        """Join a channel and wait for it (a setup step: it blocks); time as ``join``."""
        channel = self.channels.get(channel_id) or self.rtm.create_channel(
            channel_id, _ChannelHandler(self, channel_id)
        )
        if channel is None:
            self._error("loadtest.BAD_CHANNEL")
            return False
        self.channels[channel_id] = channel
        started = self.context.clock()
        if not self._wait(channel.join(), timeout):
            return False
        now = self.context.clock()
        self.stats.record_op("join", now - started)
        self._joined_at.setdefault(channel_id, now)
        return True

    def subscribe(self, peer_ids: list[str] | tuple[str, ...]) -> bool:
        """Watch peers' online status (blocks until the server agrees); as ``subscribe``."""
        started = self.context.clock()
        if not self._wait(self.rtm.subscribe_peers_online_status(list(peer_ids))):
            return False
        self.stats.record_op("subscribe", self.context.clock() - started)
        return True

    def drop(self, down_for: float) -> bool:
        """Log out, stay away ``down_for`` seconds, log in again and redo ``setup``.

        The time from the new login call to success is recorded as ``relogin``.
        """
        self.interrupted = True
        self._wait(self.rtm.logout())
        self.logged_in = False
        gevent.sleep(down_for)
        if not self.finish_login(self.start_login("relogin")):
            return False
        self.setup()
        return True

    # -- callbacks a subclass may extend (call super() to keep the counts) ------------

    def on_peer_message(self, peer_id: str, message: Message) -> None:
        """A peer message arrived: count its delivery and latency."""
        self._delivered(stream_key(PEER_STREAM, peer_id, self.user_id), message.text)

    def on_channel_message(self, channel_id: str, user_id: str, message: Message) -> None:
        """A channel message arrived."""
        key = member_key(stream_key(CHANNEL_STREAM, user_id, channel_id), self.user_id)
        self._delivered(key, message.text)

    def on_invitation(self, invitation: RemoteCallInvitation) -> None:
        """A call invitation arrived: count it, and accept it."""
        key = stream_key(INVITE_STREAM, invitation.caller_id, self.user_id)
        self._delivered(key, invitation.content)
        if self.calls is not None:
            code = self.calls.accept_remote_invitation(invitation)
            if code is not InvitationApiCallErrCode.OK:
                self._error(error_name(code))

    def on_presence(self, states: Any) -> None:
        """Watched peers changed state."""
        self.stats.counters["presence_events"] += len(states)

    # -- bookkeeping -------------------------------------------------------------------

    def _next_seq(self, key: str) -> int:
        seq = self._seqs.get(key, 0) + 1
        self._seqs[key] = seq
        return seq

    def _message(self, key: str) -> Message:
        seq = self._next_seq(key)
        now = self.context.clock()
        message = self.rtm.create_message(
            stamp(self.user_id, seq, self.intended or now, self.context.message_size)
        )
        self._sends[message.message_id] = (key, seq)
        self.stats.record_sent(now)
        return message

    def _send_result(self, message_id: int, code: Any, ok: Any) -> None:
        sent = self._sends.pop(message_id, None)
        if sent is None:
            return
        if code == ok:
            self._acked(*sent)
        else:
            self._error(error_name(code))

    def _acked(self, key: str, seq: int) -> None:
        self.stats.record_acked(key, seq, self.context.clock())
        observer = self.context.observer
        if observer is not None:
            observer.acked(self.user_id, key, seq)

    def _delivered(self, key: str, text: str) -> None:
        stamped = parse_stamp(text)
        if stamped is None:
            self.stats.counters["unstamped"] += 1
            return
        _, seq, intended = stamped
        if self.stats.record_delivered(key, seq, intended, self.context.clock()):
            observer = self.context.observer
            if observer is not None:
                observer.delivered(self.user_id, key, seq)

    def _op_result(self, request_id: int, code: Any) -> None:
        op = self._ops.pop(request_id, None)
        if op is None:
            return
        name, started = op
        if code == QueryPeersOnlineStatusErr.OK:
            self.stats.record_op(name, self.context.clock() - started)
        else:
            self._error(error_name(code))

    def _invitation_acked(self, invitation: LocalCallInvitation) -> None:
        sent = self._invitations.get(invitation.invitation_id)
        if sent is not None:
            self._acked(sent[0], sent[1])

    def _invitation_ended(self, invitation: LocalCallInvitation, error: str | None) -> None:
        sent = self._invitations.pop(invitation.invitation_id, None)
        if sent is None:
            return
        if error is not None:
            self._error(error)
            return
        self.stats.counters["invitations_accepted"] += 1
        self.stats.record_op("invite_accepted", self.context.clock() - sent[2])

    def _login_done(self, code: Any) -> None:
        if code is None:
            self.logged_in = True
            self.stats.counters[f"{self._login_op}s"] += 1
            self.stats.record_op(self._login_op, self.context.clock() - self._login_started)
        else:
            self._error(error_name(code))

    def _state_changed(self, state: ConnectionState, reason: ConnectionChangeReason) -> None:
        self.stats.record_state(state.name, reason.name)
        live = self.stats.live_states
        live[self.state_name] -= 1
        self.state_name = state.name
        live[self.state_name] += 1
        now = self.context.clock()
        if state is ConnectionState.RECONNECTING:
            self._down_since = now
            self.interrupted = True
        elif state is ConnectionState.CONNECTED and self._down_since:
            self.stats.record_op("reconnect", now - self._down_since)
            self.stats.counters["reconnects"] += 1
            self._down_since = 0.0
        elif state is ConnectionState.ABORTED:
            self.logged_in = False
            self._error(f"aborted.{reason.name}")

    def _error(self, name: str) -> None:
        self.stats.record_error(name, self.context.clock())

    def _wait(self, future: Any, timeout: float = SETUP_TIMEOUT, *, record: bool = True) -> bool:
        """Wait for a setup step; a failure or timeout counts as an error (if ``record``)."""
        try:
            future.get(timeout)
        except RtmError as exc:
            if record:
                code = getattr(exc, "code", None)
                self._error(
                    error_name(code) if code is not None else f"exception.{type(exc).__name__}"
                )
            return False
        return True
