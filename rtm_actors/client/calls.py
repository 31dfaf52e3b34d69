"""Call invitations on the client: ``RtmCallManager``, the invitation objects, their actors.

Each invitation is its own small actor, the only owner of a pure machine
(``protocol.invitation.LocalInvitation`` / ``RemoteInvitation``): the server's events
and the manager's calls both reach the machine as messages to that actor. Each actor
also keeps its own copy of the application's ``RtmCallEventHandler``: setting the
manager's ``handler`` tells the service actor, which tells every live invitation
actor (``CallHandlerSet``), so no actor reads the manager's attribute. The manager's
methods ask it, and answer with its ``InvitationApiCallErrCode`` (Agora's synchronous
result); the outcomes arrive as events from the server, which decides every race, and
are reported through the ``RtmCallEventHandler``. The invitation object the application
holds shows the state the actor last published. See ``docs/invitations.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, cast

import pykka

from rtm_actors.client.messages import (
    AnswerRemoteInvitation,
    Callback,
    CallHandlerSet,
    CancelLocalInvitation,
    DispatcherMessage,
    InvitationActorMessage,
    InvitationRefusedByServer,
    InvitationSessionLost,
    StartLocalInvitation,
)
from rtm_actors.client.requests import ClientState, Request
from rtm_actors.protocol import invitation as machines
from rtm_actors.protocol.codes import (
    InvitationApiCallErrCode as Api,
    LocalInvitationState,
    RemoteInvitationState,
)
from rtm_actors.protocol.frames import (
    AnswerInvitation,
    CancelInvitation,
    InvitationEvent,
    SendInvitation,
)
from rtm_actors.protocol.limits import (
    MAX_INVITATION_TEXT_BYTES,
    is_valid_channel_id,
    is_valid_user_id,
)
from rtm_actors.runtime import GeventActor, Ref, ask_or_run_inline, tell_or_run_inline

if TYPE_CHECKING:
    from rtm_actors.client.service import RtmService


_INVITATION_LIFETIME = 90.0


def _fits(text: object) -> bool:
    return isinstance(text, str) and len(text.encode("utf-8")) <= MAX_INVITATION_TEXT_BYTES


class _AgoraGetters:
    """The getters both of Agora's invitation classes have (its C++/Java names, snake_case)."""

    content: str
    channel_id: str
    response: str
    state: Any

    def get_content(self) -> str:
        """Agora's ``getContent``."""
        return self.content

    def get_channel_id(self) -> str:
        """Agora's ``getChannelId``."""
        return self.channel_id

    def get_response(self) -> str:
        """Agora's ``getResponse``."""
        return self.response

    def get_state(self) -> Any:
        """Agora's ``getState``."""
        return self.state

    def release(self) -> None:
        """Nothing to free: the object goes when unreferenced (kept for Agora's API)."""


class LocalCallInvitation(_AgoraGetters):
    """Agora ``ILocalCallInvitation``: the caller's invitation.

    Set ``content`` and ``channel_id`` (or ``set_content`` / ``set_channel_id``) before
    sending; ``response`` and ``state`` are filled in as the invitation goes.
    """

    def __init__(self, callee_id: str, invitation_id: int) -> None:
        self.callee_id = callee_id
        self.invitation_id = invitation_id
        self.content = ""
        self.channel_id = ""
        self.response = ""
        #: The state its actor last published (only that actor changes it).
        self._state = LocalInvitationState.IDLE
        #: The actor that owns its machine, from the first send on.
        self._actor: pykka.ActorRef[ClientInvitationActor] | None = None

    @property
    def state(self) -> LocalInvitationState:
        """Agora's ``LOCAL_INVITATION_STATE``."""
        return self._state

    def get_callee_id(self) -> str:
        """Agora's ``getCalleeId``."""
        return self.callee_id

    def set_content(self, content: str) -> None:
        """Agora's ``setContent`` (before sending)."""
        self.content = content

    def set_channel_id(self, channel_id: str) -> None:
        """Agora's ``setChannelId`` (before sending)."""
        self.channel_id = channel_id

    def __repr__(self) -> str:
        return f"LocalCallInvitation(to={self.callee_id!r}, state={self.state.name})"


class RemoteCallInvitation(_AgoraGetters):
    """Agora ``IRemoteCallInvitation``: an invitation this user received.

    Set ``response`` (or ``set_response``) before accepting or refusing.
    """

    def __init__(self, event: InvitationEvent) -> None:
        self.caller_id = event.caller_id
        self.invitation_id = event.invitation_id
        self.content = event.content
        self.channel_id = event.channel_id
        self.response = ""
        #: The state its actor last published (only that actor changes it).
        self._state = RemoteInvitationState.INVITATION_RECEIVED
        #: The actor that owns its machine (it sets this when it starts).
        self._actor: pykka.ActorRef[ClientInvitationActor] | None = None

    @property
    def state(self) -> RemoteInvitationState:
        """Agora's ``REMOTE_INVITATION_STATE``."""
        return self._state

    def get_caller_id(self) -> str:
        """Agora's ``getCallerId``."""
        return self.caller_id

    def set_response(self, response: str) -> None:
        """Agora's ``setResponse`` (before accepting or refusing)."""
        self.response = response

    def __repr__(self) -> str:
        return f"RemoteCallInvitation(from={self.caller_id!r}, state={self.state.name})"


class ClientInvitationActor(GeventActor):
    """One invitation on the client: owns its machine, which the server's events and
    the call manager's asks change, and reports the outcomes."""

    shutdown_tier = 15
    #: Every turn is short (the machine, then a callback told to the dispatcher): the
    #: server's events and the call manager's asks run in the caller's greenlet while
    #: the actor is idle, a greenlet switch (and, for an ask, a future) less each.
    inline_messages = frozenset(
        {
            InvitationEvent,
            InvitationSessionLost,
            InvitationRefusedByServer,
            StartLocalInvitation,
            CancelLocalInvitation,
            AnswerRemoteInvitation,
            CallHandlerSet,
        }
    )

    def __init__(
        self,
        invitation: LocalCallInvitation | RemoteCallInvitation,
        handler: Any,
        dispatcher: Ref[DispatcherMessage],
    ) -> None:
        super().__init__()
        self.invitation = invitation
        invitation._actor = self.actor_ref
        #: The application's ``RtmCallEventHandler``, as last told (``CallHandlerSet``:
        #: a later ``get_rtm_call_manager`` may change it).
        self._handler = handler
        self._dispatcher = dispatcher
        self._local = isinstance(invitation, LocalCallInvitation)
        self._machine: machines.LocalInvitation | machines.RemoteInvitation = (
            machines.LocalInvitation() if self._local else machines.RemoteInvitation()
        )

    def on_receive(self, message: InvitationActorMessage) -> Api | None:
        inv, machine = self.invitation, self._machine
        answer: Api | None = None
        match message:
            case CallHandlerSet(handler=handler):
                self._handler = handler
                return None
            case StartLocalInvitation(logged_in=logged_in):
                assert isinstance(machine, machines.LocalInvitation)
                answer = machine.send(logged_in=logged_in)
                if answer is Api.OK and machine.state is LocalInvitationState.FAILURE:
                    self._report(machines.InvitationOutcome.FAILED)  # not logged in
            case CancelLocalInvitation():
                assert isinstance(machine, machines.LocalInvitation)
                answer = machine.cancel()
            case AnswerRemoteInvitation(accept=accept):
                assert isinstance(machine, machines.RemoteInvitation)
                answer = machine.accept() if accept else machine.refuse()
            case InvitationEvent(event="received"):
                self._callback("on_remote_invitation_received", inv)
            case InvitationEvent(event="received_by_peer"):
                if isinstance(machine, machines.LocalInvitation) and machine.received_by_peer():
                    self._callback("on_local_invitation_received_by_peer", inv)
            case InvitationEvent(event=event, code=code, response=response):
                outcome = machines.InvitationOutcome(event)
                if self._local:
                    inv.response = response
                if machine.ended(outcome, code):
                    self._report(outcome)
            case InvitationSessionLost():
                if machine.session_lost():
                    self._report(machines.InvitationOutcome.FAILED)
            case InvitationRefusedByServer():
                if isinstance(machine, machines.LocalInvitation) and machine.refused_at_send():
                    self._report(machines.InvitationOutcome.FAILED)
        self._publish()
        if machine.state in (machines.LOCAL_TERMINAL | machines.REMOTE_TERMINAL):
            self.stop()
        return answer

    def _publish(self) -> None:
        """Show the application the machine's state (before any callback reads it)."""
        self.invitation._state = self._machine.state

    def _report(self, outcome: machines.InvitationOutcome) -> None:
        inv = self.invitation
        side = "local" if self._local else "remote"
        if outcome is machines.InvitationOutcome.FAILED:
            self._callback(f"on_{side}_invitation_failure", inv, self._machine.error)
        elif self._local and outcome in (
            machines.InvitationOutcome.ACCEPTED,
            machines.InvitationOutcome.REFUSED,
        ):
            self._callback(f"on_local_invitation_{outcome.value}", inv, inv.response)
        else:
            self._callback(f"on_{side}_invitation_{outcome.value}", inv)

    def _callback(self, method: str, *args: Any) -> None:
        self._publish()
        tell_or_run_inline(self._dispatcher, Callback(self._handler, method, args))


@dataclass(eq=False)
class InvitationRequest(Request):
    """Send, cancel, accept or refuse: the answer only says whether the server took it;
    what happened comes as events."""

    codes = Api
    timeout_code = Api.ALREADY_END
    failure_code = Api.ALREADY_END
    what = "invitation"
    #: The invitation's actor, for a send: told when the server refuses to start it,
    #: since no event will ever come for an invitation that never started.
    invitation: Any = None

    def settle(self, reply: Any, state: ClientState, notify: Any) -> None:
        super().settle(reply, state, notify)
        if reply.code != Api.OK:
            self._not_started()

    def expire(self, notify: Any) -> None:
        # Unanswered for longer than an invitation lives: whatever the server did,
        # it is over, and no event will come for it now.
        super().expire(notify)
        self._not_started()

    def _not_started(self) -> None:
        if self.invitation is not None:
            tell_or_run_inline(self.invitation, InvitationRefusedByServer())

    def _finish(self, code: IntEnum, value: Any, notify: Any) -> None:
        self.future.resolve(code)

    def value(self, reply: Any, code: IntEnum, state: ClientState) -> Any:
        return code


class RtmCallManager:
    """Agora ``IRtmCallManager``: made by ``RtmService.get_rtm_call_manager(handler)``."""

    def __init__(self, service: RtmService, handler: Any) -> None:
        self._service = service
        self._handler = handler
        self._tell_handler(handler)

    @property
    def handler(self) -> Any:
        """The ``RtmCallEventHandler`` invitations are reported to."""
        return self._handler

    @handler.setter
    def handler(self, handler: Any) -> None:
        # The live invitations' actors each keep a copy: they are told, in order
        # with this manager's other news for the service.
        self._handler = handler
        self._tell_handler(handler)

    def _tell_handler(self, handler: Any) -> None:
        service_actor = self._service._actor
        if service_actor is not None:
            service_actor.tell(CallHandlerSet(handler))

    def create_local_call_invitation(self, callee_id: str) -> LocalCallInvitation:
        """A new invitation to ``callee_id`` (sent by ``send_local_invitation``)."""
        return LocalCallInvitation(callee_id, self._service._ids.next())

    def send_local_invitation(self, invitation: LocalCallInvitation) -> Api:
        """Send it; ``OK`` means it is on its way (events follow)."""
        if (
            not isinstance(invitation, LocalCallInvitation)
            or not is_valid_user_id(invitation.callee_id)
            or not _fits(invitation.content)
            or (invitation.channel_id and not is_valid_channel_id(invitation.channel_id))
        ):
            return Api.INVALID_ARGUMENT
        service = self._service
        actor = invitation._actor
        if actor is None:
            actor = ClientInvitationActor.start(invitation, self._handler, service._dispatcher)
        code = _ask(actor, StartLocalInvitation(logged_in=service.is_logged_in()))
        if code is not Api.OK or invitation.state is LocalInvitationState.FAILURE:
            return code  # refused, or failed at once (not logged in) and reported
        service._track_invitation(("caller", invitation.invitation_id), actor)
        frame = SendInvitation(
            0,
            invitation.invitation_id,
            invitation.callee_id,
            invitation.content,
            invitation.channel_id,
        )
        self._request(frame, invitation=actor)
        return Api.OK

    def cancel_local_invitation(self, invitation: LocalCallInvitation) -> Api:
        """Cancel it; the callee is told, then ``on_local_invitation_canceled`` fires."""
        if invitation._actor is None:
            return Api.NOT_STARTED
        code = _ask(invitation._actor, CancelLocalInvitation())
        if code is Api.OK:
            self._request(CancelInvitation(0, invitation.invitation_id))
        return code

    def accept_remote_invitation(self, invitation: RemoteCallInvitation) -> Api:
        """Accept (with ``invitation.response``); ``on_remote_invitation_accepted`` follows."""
        return self._answer(invitation, accept=True)

    def refuse_remote_invitation(self, invitation: RemoteCallInvitation) -> Api:
        """Refuse (with ``invitation.response``); ``on_remote_invitation_refused`` follows."""
        return self._answer(invitation, accept=False)

    def _answer(self, invitation: RemoteCallInvitation, *, accept: bool) -> Api:
        if not isinstance(invitation, RemoteCallInvitation) or not _fits(invitation.response):
            return Api.INVALID_ARGUMENT
        if invitation._actor is None:
            return Api.ALREADY_END
        accepted = invitation.state is RemoteInvitationState.ACCEPTED
        ended = Api.ALREADY_ACCEPT if accepted else Api.ALREADY_END
        code = _ask(invitation._actor, AnswerRemoteInvitation(accept=accept), ended)
        if code is Api.OK:
            frame = AnswerInvitation(
                0, invitation.caller_id, invitation.invitation_id, accept, invitation.response
            )
            self._request(frame)
        return code

    def release(self) -> None:
        """Stop receiving invitations through this manager."""
        self._service._forget_call_manager(self)

    def _request(self, frame: Any, invitation: Any = None) -> None:
        # Kept (and re-sent after reconnects) as long as an invitation can live: if the
        # session ends first, the invitation fails through InvitationSessionLost instead.
        self._service._send_frame_request(
            InvitationRequest, frame, _INVITATION_LIFETIME, invitation=invitation
        )


def _ask(
    actor: pykka.ActorRef[ClientInvitationActor],
    question: StartLocalInvitation | CancelLocalInvitation | AnswerRemoteInvitation,
    ended: Api = Api.ALREADY_END,
) -> Api:
    """The invitation actor's answer; an actor that has stopped had ended the
    invitation (the answer is then ``ended``): nothing changes it any more."""
    try:
        return cast(Api, ask_or_run_inline(actor, question))
    except pykka.ActorDeadError:
        return ended
