"""``InvitationActor``: one call invitation in flight on the server.

A shell around ``protocol.invitation.ServerInvitation``: it feeds the machine the
caller's and callee's requests, their sessions' acknowledgements and departures, the
callee's login and the timers, and carries out what the machine says. Pushes go through
each party's session delivery window, so they survive a short reconnect and their
acknowledgement is the proof that the party's SDK has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from rtm_actors.protocol import invitation as inv
from rtm_actors.protocol.codes import InvitationApiCallErrCode, PeerOnlineState
from rtm_actors.protocol.frames import InvitationEvent, Reply
from rtm_actors.runtime import Adopt, ChildSpec, GeventActor, NamedTimers, tell_or_run_inline
from rtm_actors.server import channel_messages as chm, messages as m

log = structlog.get_logger("rtm_actors.server.invitation")

InvitationKey = tuple[str, str, int]  # app id, caller id, invitation id


@dataclass(frozen=True, slots=True)
class Answer:
    """The callee accepts or refuses."""

    session: Any
    user_id: str
    rid: int
    accept: bool
    response: str


@dataclass(frozen=True, slots=True)
class Cancel:
    """The caller cancels."""

    session: Any
    rid: int


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """A party's SDK acknowledged the push ``event``."""

    role: str
    event: str


@dataclass(frozen=True, slots=True)
class PartyGone:
    """A party's session ended."""

    role: str


@dataclass(frozen=True, slots=True)
class InvitationTimerFired:
    """A machine timer ran out."""

    timer: inv.InvitationTimer


@dataclass(frozen=True, slots=True)
class PushInvitation:
    """Invitation actor -> session: push ``frame`` reliably; report its acknowledgement."""

    frame: InvitationEvent
    role: str
    actor: Any


def start_invitation(
    ctx: Any, key: InvitationKey, caller: Any, callee_id: str, content: str, channel_id: str
) -> Any:
    """Start an invitation's actor under the node's supervisor, which adopts it.

    Unadopted, every invitation's exit reached the supervisor as a child it never
    heard of, and its URN stayed in the supervisor's early exits.
    Adopted, a crash also takes the invitation out of ``ctx.invitations``.
    """
    ref = InvitationActor.start_under(
        ctx.supervisor, ctx, key, caller, callee_id, content, channel_id
    )
    ctx.invitations[key] = ref
    if ctx.supervisor is not None:

        def forget(_error: BaseException | None) -> None:
            # (A crashed actor runs no on_stop: forget it here, its live count too.)
            if ctx.invitations.get(key) is ref:
                del ctx.invitations[key]
                forget_live(ctx.live_invitations, key[:2])

        spec = ChildSpec("invitation", on_exit=forget)
        tell_or_run_inline(ctx.supervisor, Adopt(ref, spec))
    return ref


class InvitationActor(GeventActor):
    """The server side of one call invitation."""

    shutdown_tier = 5

    def __init__(
        self,
        ctx: Any,
        key: InvitationKey,
        caller: Any,
        callee_id: str,
        content: str,
        channel_id: str,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.key = key
        self.app_id, self.caller_id, self.invitation_id = key
        self.callee_id = callee_id
        self.content = content
        self.channel_id = channel_id
        self.response = ""
        self._caller = caller
        self._callee: Any = None
        self._machine = inv.ServerInvitation(ctx.config.invitation_timings)
        self._timers = NamedTimers(self.actor_ref)
        self._watching = False
        self._log = log.bind(app_id=self.app_id, caller=self.caller_id, callee=callee_id)

    def on_start(self) -> None:
        online = self.ctx.route((self.app_id, self.callee_id)) is not None
        self._run(self._machine.start(callee_online=online))

    def on_receive(self, message: Any) -> None:
        machine = self._machine
        match message:
            case Answer(
                session=session, user_id=user_id, rid=rid, accept=accept, response=response
            ):
                if user_id != self.callee_id:
                    self._reply(session, rid, InvitationApiCallErrCode.INVALID_ARGUMENT)
                    return
                self.response = response
                code, effects = machine.accept() if accept else machine.refuse()
                self._reply(session, rid, code)
                self._run(effects)
            case Cancel(session=session, rid=rid):
                code, effects = machine.cancel()
                self._reply(session, rid, code)
                self._run(effects)
            case Acknowledged(role="callee", event="received"):
                self._run(machine.callee_acknowledged())
            case Acknowledged(role="caller", event="accepted"):
                self._run(machine.caller_acknowledged_accept())
            case PartyGone(role="caller"):
                self._run(machine.caller_gone())
            case PartyGone(role="callee"):
                self._run(machine.callee_gone())
            case m.PresenceUpdate(state=PeerOnlineState.ONLINE):
                self._run(machine.callee_online())
            case InvitationTimerFired(timer=timer):
                self._run(machine.timer_fired(timer))

    def _run(self, effects: list[inv.ServerEffect]) -> None:
        for effect in effects:
            match effect:
                case inv.ToCallee(event=event, code=code):
                    if event == "received":
                        self._callee = self.ctx.route((self.app_id, self.callee_id))
                        tell_or_run_inline(
                            self._callee, Involve(self.actor_ref, "callee", self.key)
                        )
                    self._push(self._callee, "callee", event, code)
                case inv.ToCaller(event=event, code=code):
                    self._push(self._caller, "caller", event, code)
                case inv.StartInvitationTimer(timer=timer, delay=delay):
                    self._timers.start(timer, delay, InvitationTimerFired(timer))
                case inv.WatchCallee():
                    self._watching = True
                    self.ctx.presence.watch(self.actor_ref, self.app_id, [self.callee_id])
                case inv.Finished(outcome=outcome):
                    self.ctx.metrics.invitations[outcome.value] += 1
                    self._log.info("invitation_ended", outcome=outcome.value)
                    self.stop()

    def _push(self, session: Any, role: str, event: str, code: int) -> None:
        if session is None:
            return
        frame = InvitationEvent(
            0,
            role,
            event,
            self.invitation_id,
            self.caller_id,
            self.callee_id,
            self.content if event == "received" else "",
            self.channel_id if event == "received" else "",
            self.response,
            int(code),
        )
        tell_or_run_inline(session, PushInvitation(frame, role, self.actor_ref))

    def _reply(self, session: Any, rid: int, code: InvitationApiCallErrCode) -> None:
        tell_or_run_inline(session, chm.SendFrame(Reply(rid, code)))

    def on_stop(self) -> None:
        self._timers.cancel_all()
        if self._watching:
            self.ctx.presence.unwatch(self.actor_ref, self.app_id, [self.callee_id])
        if self.ctx.invitations.pop(self.key, None) is not None:
            forget_live(self.ctx.live_invitations, (self.app_id, self.caller_id))
        for session in (self._caller, self._callee):
            if session is not None:
                tell_or_run_inline(session, Uninvolve(self.key))


def forget_live(live: Any, caller: tuple[str, str]) -> None:
    """One of ``caller``'s invitations ended: count it out (and drop a zero count)."""
    left = live[caller] - 1
    if left > 0:
        live[caller] = left
    else:
        del live[caller]


@dataclass(frozen=True, slots=True)
class Involve:
    """Invitation -> session: you take part as ``role``; tell me if you end."""

    actor: Any
    role: str
    key: InvitationKey


@dataclass(frozen=True, slots=True)
class Uninvolve:
    """Invitation -> session: the invitation is over."""

    key: InvitationKey
