"""``InvitationDesk``: one actor per node that holds every call invitation in flight.

Why one desk and not an actor per invitation: an invitation is a few hundred bytes of
state (its ``ServerInvitation`` machine, its parties, its text) and a handful of short
inputs over its life, all of which the machine decides. An actor per invitation paid
for a greenlet, a registration, an adoption by the supervisor, two loop timers and a
stop for each one, and a greenlet switch for each input: more than the invitation's
own work (without them the ``invite`` benchmark's server CPU per round trip fell by
about a third). The desk keeps the machines in one dict, their deadlines on one
``DeadlineWheel`` behind one loop timer, and takes its inputs inline (a desk turn is
short), so an input costs a dict lookup and the machine's step in the teller's
greenlet. Why not the caller's session: the invitation answers to both parties, must
end when either party's session ends, and its callee's session may be on another
node; one desk per node is that arbiter, and sessions keep only their own records.

The desk is the one owner of the node's invitations: the registry (``_live``), the
callees it waits for and the timers. Sessions and the cluster's inbound side reach an
invitation only by telling its ``InvitationRef`` (``server/invitation_actor.py``);
the desk tells sessions ``Involve``, ``PushInvitation``, ``Uninvolve`` and replies.
Every input for one invitation is handled in its arrival order, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, assert_never

import pykka
import structlog

from rtm_actors.protocol import invitation as inv
from rtm_actors.protocol.codes import InvitationApiCallErrCode as Api
from rtm_actors.protocol.deadlines import DeadlineWheel
from rtm_actors.protocol.frames import InvitationEvent, Reply
from rtm_actors.runtime import (
    Adopt,
    ChildSpec,
    GeventActor,
    NamedTimers,
    now,
    tell_or_run_inline,
)
from rtm_actors.server import channel_messages as chm
from rtm_actors.server.invitation_actor import (
    Acknowledged,
    Answer,
    CalleeOnline,
    CalleeWatch,
    Cancel,
    CountInvitations,
    DeskHeadcount,
    DeskMessage,
    InvitationKey,
    InvitationRef,
    Involve,
    PartyGone,
    PartyInput,
    PushInvitation,
    StartInvitation,
    ToInvitation,
    Uninvolve,
    WheelTurn,
)

if TYPE_CHECKING:
    from rtm_actors.runtime import Supervisor
    from rtm_actors.server.services import DeskServices

log = structlog.get_logger("rtm_actors.server.invitation")

#: Invitation timers are checked in slots of this many seconds (never early, at most
#: this late): Agora's timings are tens of seconds.
WHEEL_RESOLUTION = 0.05

TimerItem = tuple[InvitationKey, inv.InvitationTimer]


class _Invitation:
    """One invitation in flight, as the desk (and only the desk) keeps it."""

    __slots__ = (
        "callee",
        "callee_id",
        "caller",
        "channel_id",
        "content",
        "key",
        "machine",
        "ref",
        "response",
        "slots",
        "watching",
    )

    def __init__(self, start: StartInvitation, machine: inv.ServerInvitation, ref: Any) -> None:
        self.key = start.key
        self.caller = start.caller
        self.callee: Any = None
        self.callee_id = start.callee_id
        self.content = start.content
        self.channel_id = start.channel_id
        self.response = ""
        self.machine = machine
        #: What the parties' sessions tell (one per invitation, shared by both).
        self.ref = ref
        #: Each running timer's wheel slot.
        self.slots: dict[inv.InvitationTimer, int] = {}
        self.watching = False


class InvitationDesk(GeventActor):
    """Every call invitation in flight on this node, and their timers."""

    shutdown_tier = 5
    #: A party's input, a new invitation and the wheel's turn are quick bookkeeping: a
    #: session (or the timer relay) runs them in its own greenlet while the desk is
    #: idle. (With several nodes, routing a new invitation's callee may ask Redis, as a
    #: session's own peer message does.) A callee's login comes from presence changes,
    #: which the cluster's subscriber delivers and which must not wait on Redis there:
    #: it waits in the inbox.
    inline_messages: ClassVar[frozenset[type]] = frozenset(
        {StartInvitation, ToInvitation, WheelTurn}
    )

    def __init__(self, services: DeskServices) -> None:
        super().__init__()
        self._routes = services.routes
        self._presence = services.presence
        self._metrics = services.metrics
        #: Bound once (logging is set up by now): through the module's lazy proxy even
        #: a line filtered out costs ~2 us, and every invitation logs its end.
        self._log = log.bind()
        self._timings: inv.InvitationTimings = services.timings
        self._live: dict[InvitationKey, _Invitation] = {}
        #: (app id, callee id) -> the presence watch and the invitations waiting for
        #: that callee to log in (both go when no invitation waits any more).
        self._waiting: dict[tuple[str, str], tuple[CalleeWatch, set[InvitationKey]]] = {}
        self._wheel: DeadlineWheel[TimerItem] = DeadlineWheel(WHEEL_RESOLUTION)
        self._wheel_timer = NamedTimers(self.actor_ref)
        #: When the wheel's loop timer is set to go off (None: not set).
        self._armed_for: float | None = None
        #: A timer was added this turn: the loop timer may have to go off sooner.
        self._wheel_changed = False

    def on_receive(self, message: DeskMessage) -> Any:
        match message:
            case ToInvitation(key=key, message=party_input):
                self._on_party_input(key, party_input)
            case StartInvitation():
                self._start(message)
            case CalleeOnline(app_id=app_id, user_id=user_id):
                waiting = self._waiting.get((app_id, user_id))
                for key in list(waiting[1] if waiting is not None else ()):
                    call = self._live.get(key)
                    if call is not None:
                        self._run(call, call.machine.callee_online())
            case WheelTurn():
                self._armed_for = None
                self._wheel_changed = True
                for key, timer in self._wheel.pop_due(now()):
                    call = self._live.get(key)
                    if call is not None:
                        call.slots.pop(timer, None)
                        self._run(call, call.machine.timer_fired(timer))
            case CountInvitations():
                return DeskHeadcount(len(self._live), len(self._wheel), len(self._waiting))
            case _:
                assert_never(message)
        if self._wheel_changed:
            self._arm_wheel()
        return None

    # -- inputs --------------------------------------------------------------------

    def _start(self, start: StartInvitation) -> None:
        key = start.key
        if key in self._live:
            return  # the caller's session re-sent it: it is under way
        machine = inv.ServerInvitation(self._timings)
        call = self._live[key] = _Invitation(start, machine, InvitationRef(self.actor_ref, key))
        try:
            # (With several nodes this may ask Redis, which may be away.)
            call.callee = self._routes.route((key[0], start.callee_id))
        except Exception:  # one invitation's fault must not end the others
            log.exception("invitation_failed", key=key)
            self._fault(call)
            return
        self._run(call, machine.start(callee_online=call.callee is not None))

    def _on_party_input(self, key: InvitationKey, message: PartyInput) -> None:
        call = self._live.get(key)
        # (Acknowledgements first: two per invitation, against one answer.)
        match message:
            case Acknowledged(role=role, event=event):
                if call is not None:
                    if role == "callee" and event == "received":
                        self._run(call, call.machine.callee_acknowledged())
                    elif role == "caller" and event == "accepted":
                        self._run(call, call.machine.caller_acknowledged_accept())
            case Answer(session=session, user_id=user_id, rid=rid, accept=accept):
                if call is None:
                    self._reply(session, rid, Api.ALREADY_END)
                elif user_id != call.callee_id:
                    self._reply(session, rid, Api.INVALID_ARGUMENT)
                else:
                    call.response = message.response
                    machine = call.machine
                    code, effects = machine.accept() if accept else machine.refuse()
                    self._reply(session, rid, code)
                    self._run(call, effects)
            case Cancel(session=session, rid=rid):
                if call is None:
                    self._reply(session, rid, Api.ALREADY_END)
                else:
                    code, effects = call.machine.cancel()
                    self._reply(session, rid, code)
                    self._run(call, effects)
            case PartyGone(role=role):
                if call is not None:
                    machine = call.machine
                    gone = machine.caller_gone() if role == "caller" else machine.callee_gone()
                    self._run(call, gone)
            case _:
                assert_never(message)

    # -- effects -------------------------------------------------------------------

    def _run(self, call: _Invitation, effects: list[inv.ServerEffect]) -> None:
        try:
            for effect in effects:
                self._perform(call, effect)
        except Exception:  # one invitation's fault must not end the others
            log.exception("invitation_failed", key=call.key)
            self._fault(call)

    def _fault(self, call: _Invitation) -> None:
        """Handling ``call`` failed: it ends (counted as failed), the others go on."""
        self._metrics.invitations["failed"] += 1
        self._forget(call)

    def _perform(self, call: _Invitation, effect: inv.ServerEffect) -> None:
        # (In the order of how often they come: each case passed costs a type check.)
        match effect:
            case inv.ToCaller(event=event, code=code):
                self._push(call, call.caller, "caller", event, code)
            case inv.ToCallee(event=event, code=code):
                if event == "received":
                    if call.callee is None:
                        # Not routed at the start (offline then): where is it now?
                        call.callee = self._routes.route((call.key[0], call.callee_id))
                    if call.callee is not None:
                        tell_or_run_inline(call.callee, Involve(call.ref, "callee", call.key))
                self._push(call, call.callee, "callee", event, code)
            case inv.StartInvitationTimer(timer=timer, delay=delay):
                slot = call.slots.pop(timer, None)
                if slot is not None:
                    self._wheel.remove((call.key, timer), slot)
                call.slots[timer] = self._wheel.add((call.key, timer), now() + delay)
                self._wheel_changed = True
            case inv.Finished(outcome=outcome):
                how = outcome.value
                self._metrics.invitations[how] += 1
                self._log.info(
                    "invitation_ended",
                    app_id=call.key[0],
                    caller=call.key[1],
                    callee=call.callee_id,
                    outcome=how,
                )
                self._forget(call)
            case inv.WatchCallee():
                self._wait_for_callee(call)
            case _:
                assert_never(effect)

    def _push(self, call: _Invitation, session: Any, role: str, event: str, code: int) -> None:
        if session is None:
            return
        received = event == "received"
        frame = InvitationEvent(
            0,
            role,
            event,
            call.key[2],
            call.key[1],
            call.callee_id,
            call.content if received else "",
            call.channel_id if received else "",
            call.response,
            int(code),
        )
        tell_or_run_inline(session, PushInvitation(frame, role, call.ref))

    def _reply(self, session: Any, rid: int, code: Api) -> None:
        tell_or_run_inline(session, chm.SendFrame(Reply(rid, code)))

    def _forget(self, call: _Invitation) -> None:
        """The invitation is over: nothing of it stays on the desk."""
        key = call.key
        if self._live.get(key) is not call:
            return
        del self._live[key]
        for timer, slot in call.slots.items():
            self._wheel.remove((key, timer), slot)
        call.slots.clear()
        if call.watching:
            self._stop_waiting(call)
        for session in (call.caller, call.callee):
            if session is not None:
                tell_or_run_inline(session, Uninvolve(key))

    # -- callees that are offline ------------------------------------------------------

    def _wait_for_callee(self, call: _Invitation) -> None:
        app_id = call.key[0]
        callee = (app_id, call.callee_id)
        waiting = self._waiting.get(callee)
        if waiting is None:
            watch = CalleeWatch(self.actor_ref, app_id)
            waiting = self._waiting[callee] = (watch, set())
            self._presence.watch(watch, app_id, [call.callee_id])
        waiting[1].add(call.key)
        call.watching = True

    def _stop_waiting(self, call: _Invitation) -> None:
        app_id = call.key[0]
        callee = (app_id, call.callee_id)
        waiting = self._waiting.get(callee)
        call.watching = False
        if waiting is None:
            return
        watch, keys = waiting
        keys.discard(call.key)
        if not keys:
            del self._waiting[callee]
            self._presence.unwatch(watch, app_id, [call.callee_id])

    # -- the wheel's one loop timer ----------------------------------------------------

    def _arm_wheel(self) -> None:
        self._wheel_changed = False
        due = self._wheel.next_due()
        if due is None or (self._armed_for is not None and self._armed_for <= due):
            return
        self._armed_for = due
        self._wheel_timer.start("wheel", due - now(), WheelTurn())

    def on_stop(self) -> None:
        self._wheel_timer.cancel_all()
        for call in list(self._live.values()):
            if call.watching:
                self._stop_waiting(call)
        self._live.clear()


def start_desk(
    services: DeskServices, supervisor: pykka.ActorRef[Supervisor] | None
) -> pykka.ActorRef[InvitationDesk]:
    """Start the node's desk under its supervisor (which reports it if it crashes)."""
    ref = InvitationDesk.start_under(supervisor, services)
    if supervisor is not None:
        # Not restarted (no child is): a fault in one invitation ends only that one,
        # so the desk itself does not crash on a party's input.
        supervisor.tell(Adopt(ref, ChildSpec("invitation_desk")))
    return ref
