"""A server session's call-invitation requests, sans-IO, and the invitations it is in.

The session checks sizes and ids, starts or finds the invitation, pushes its events
through its delivery window, and reports back when its client acknowledged them, or
when the session ends.
"""

from __future__ import annotations

from typing import assert_never

from rtm_actors.protocol.codes import InvitationApiCallErrCode as Api
from rtm_actors.protocol.flow import RecentIds
from rtm_actors.protocol.frames import AnswerInvitation, CancelInvitation, Reply, SendInvitation
from rtm_actors.protocol.limits import (
    MAX_INVITATION_TEXT_BYTES,
    is_valid_channel_id,
    is_valid_user_id,
)
from rtm_actors.protocol.server_session_io import (
    AnswerInvitationRequest,
    CancelInvitationRequest,
    LeaveInvitation,
    SessionPort,
    SessionRef,
)

#: Ended invitation ids a session remembers (more than its client can have pending).
ENDED_INVITATIONS = 256

InvitationKey = tuple[str, str, int]  # app id, caller id, invitation id
InvitationFrame = SendInvitation | CancelInvitation | AnswerInvitation


def _fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= MAX_INVITATION_TEXT_BYTES


class InvitationRequests:
    """The invitations one session takes part in, and the rules of its requests."""

    __slots__ = ("_calling", "_ended", "_max_live", "_port", "app_id", "taking_part", "user_id")

    def __init__(self, port: SessionPort, app_id: str, user_id: str, max_live: int) -> None:
        self._port = port
        self.app_id = app_id
        self.user_id = user_id
        self._max_live = max_live
        #: Invitations this session takes part in, and as what ("caller"/"callee").
        self.taking_part: dict[InvitationKey, tuple[SessionRef, str]] = {}
        #: Ids of invitations this session made that ended lately: one its client
        #: re-sends after a reconnect is not started again. Kept by the session, not
        #: the node, so they go when it ends (a node-wide set grew without bound).
        self._ended: RecentIds[bool] = RecentIds(ENDED_INVITATIONS)
        #: Invitations this session made that are in flight (the live cap): the
        #: session counts its own, so no node-wide counter is shared.
        self._calling = 0

    def frame(self, frame: InvitationFrame, now: float) -> None:
        """An invitation request from the client."""
        port = self._port
        match frame:
            case SendInvitation():
                self._invite(frame, now)
            case CancelInvitation(rid=rid, invitation_id=invitation_id):
                actor = port.invitation((self.app_id, self.user_id, invitation_id))
                if actor is None or not port.perform(CancelInvitationRequest(actor, rid)):
                    port.send(Reply(rid, Api.ALREADY_END))
            case AnswerInvitation():
                self._answer(frame)
            case _:
                assert_never(frame)

    def involve(self, key: InvitationKey, actor: SessionRef, role: str) -> None:
        """This session takes part in invitation ``key`` as ``role``."""
        self.taking_part[key] = (actor, role)

    def uninvolve(self, key: InvitationKey) -> None:
        """The invitation ended: this session no longer takes part."""
        if self.taking_part.pop(key, None) is not None and key[1] == self.user_id:
            self._ended.put(key[2], True)
            self._calling -= 1

    def leave_all(self) -> None:
        """The session ends: every invitation it is in hears so."""
        for actor, role in self.taking_part.values():
            self._port.perform(LeaveInvitation(actor, role))
        self.taking_part.clear()

    def _invite(self, frame: SendInvitation, now: float) -> None:
        port = self._port
        key = (self.app_id, self.user_id, frame.invitation_id)
        if (
            not is_valid_user_id(frame.callee_id)
            or not _fits(frame.content)
            or (frame.channel_id and not is_valid_channel_id(frame.channel_id))
        ):
            port.send(Reply(frame.rid, Api.INVALID_ARGUMENT))
            return
        known = key in self.taking_part or frame.invitation_id in self._ended
        if not known:
            # (Known already: the same request re-sent after a reconnect.)
            if not self._may_invite(now):
                # No code says "too often" here: ALREADY_END, the answer the SDK
                # already gives when the server could not take a request, says the
                # invitation ended at once (docs/invitations.md).
                port.send(Reply(frame.rid, Api.ALREADY_END))
                return
            actor = port.start_invitation(
                frame.invitation_id, frame.callee_id, frame.content, frame.channel_id
            )
            self._calling += 1
            self.taking_part[key] = (actor, "caller")
        port.send(Reply(frame.rid, Api.OK))

    def _may_invite(self, now: float) -> bool:
        """Within the user's invitation rate, and under its cap of live invitations."""
        return self._calling < self._max_live and self._port.allow("invitation", now)

    def _answer(self, frame: AnswerInvitation) -> None:
        port = self._port
        rid = frame.rid
        key = (self.app_id, frame.caller_id, frame.invitation_id)
        # (An invitation from a caller on another node is known by involvement.)
        involved = self.taking_part.get(key)
        actor = involved[0] if involved else port.invitation(key)
        if not _fits(frame.response):
            port.send(Reply(rid, Api.INVALID_ARGUMENT))
        elif actor is None or not port.perform(
            AnswerInvitationRequest(actor, rid, frame.accept, frame.response)
        ):
            port.send(Reply(rid, Api.ALREADY_END))
