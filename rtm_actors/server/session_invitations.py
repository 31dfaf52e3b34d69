"""The call-invitation requests of a ``SessionActor`` (a mixin).

The session checks sizes and ids, starts the invitation on the node's ``InvitationDesk``
or tells it through the invitation's ref, pushes the invitation's events through its
delivery window, and reports back when its client has acknowledged them, or when the
session ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtm_actors.protocol.codes import InvitationApiCallErrCode as Api
from rtm_actors.protocol.flow import RecentIds
from rtm_actors.protocol.frames import AnswerInvitation, CancelInvitation, Reply, SendInvitation
from rtm_actors.protocol.limits import (
    MAX_INVITATION_TEXT_BYTES,
    is_valid_channel_id,
    is_valid_user_id,
)
from rtm_actors.runtime import tell_or_run_inline
from rtm_actors.server.context import ServerContext
from rtm_actors.server.invitation_actor import (
    Answer,
    Cancel,
    InvitationKey,
    PartyGone,
    invitation_ref,
    start_invitation,
)

INVITATION_FRAMES = (SendInvitation, CancelInvitation, AnswerInvitation)
#: Ended invitation ids a session remembers (more than its client can have pending).
ENDED_INVITATIONS = 256


def _fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= MAX_INVITATION_TEXT_BYTES


class InvitationRequests:
    """Mixed into ``SessionActor``: needs ``ctx``, ``app_id``, ``user_id``, ``_send``."""

    ctx: ServerContext
    app_id: str
    user_id: str
    actor_ref: Any
    _send: Callable[[Any], None]
    _allow: Callable[[str], bool]

    def _init_invitations(self) -> None:
        #: Invitations this session takes part in, and as what ("caller"/"callee").
        self.invitations: dict[InvitationKey, tuple[Any, str]] = {}
        #: Ids of invitations this session made that ended lately: one its client
        #: re-sends after a reconnect is not started again. Kept by the session, not
        #: the node, so they go when it ends (a node-wide set grew without bound).
        self._ended_invitations: RecentIds[bool] = RecentIds(ENDED_INVITATIONS)
        #: Invitations this session made that are in flight (the live cap).
        self._calling = 0

    def _invitation_ended(self, key: InvitationKey) -> None:
        """The invitation's actor stopped: this session no longer takes part."""
        if self.invitations.pop(key, None) is not None and key[1] == self.user_id:
            self._ended_invitations.put(key[2], True)
            self._calling -= 1

    def _on_invitation_frame(self, frame: Any) -> None:
        match frame:
            case SendInvitation():
                self._invite(frame)
            case CancelInvitation(rid=rid, invitation_id=invitation_id):
                actor = invitation_ref(self.ctx, (self.app_id, self.user_id, invitation_id))
                if not tell_or_run_inline(actor, Cancel(self.actor_ref, rid)):
                    self._send(Reply(rid, Api.ALREADY_END))
            case AnswerInvitation(rid=rid, caller_id=caller_id, invitation_id=invitation_id):
                key = (self.app_id, caller_id, invitation_id)
                # (An invitation from a caller on another node is known by involvement.)
                involved = self.invitations.get(key)
                actor = involved[0] if involved else invitation_ref(self.ctx, key)
                if not _fits(frame.response):
                    self._send(Reply(rid, Api.INVALID_ARGUMENT))
                elif not tell_or_run_inline(
                    actor, Answer(self.actor_ref, self.user_id, rid, frame.accept, frame.response)
                ):
                    self._send(Reply(rid, Api.ALREADY_END))

    def _invite(self, frame: SendInvitation) -> None:
        key = (self.app_id, self.user_id, frame.invitation_id)
        if (
            not is_valid_user_id(frame.callee_id)
            or not _fits(frame.content)
            or (frame.channel_id and not is_valid_channel_id(frame.channel_id))
        ):
            self._send(Reply(frame.rid, Api.INVALID_ARGUMENT))
            return
        known = key in self.invitations or frame.invitation_id in self._ended_invitations
        if not known:
            # (Known already: the same request re-sent after a reconnect.)
            if not self._may_invite():
                # No code says "too often" here: ALREADY_END, the answer the SDK
                # already gives when the server could not take a request, says the
                # invitation ended at once (docs/invitations.md).
                self._send(Reply(frame.rid, Api.ALREADY_END))
                return
            actor = start_invitation(
                self.ctx, key, self.actor_ref, frame.callee_id, frame.content, frame.channel_id
            )
            self._calling += 1
            self.invitations[key] = (actor, "caller")
        self._send(Reply(frame.rid, Api.OK))

    def _may_invite(self) -> bool:
        """Within the user's invitation rate, and under its cap of live invitations."""
        return self._calling < self.ctx.config.max_live_invitations and self._allow("invitation")

    def _leave_all_invitations(self) -> None:
        for actor, role in self.invitations.values():
            tell_or_run_inline(actor, PartyGone(role))
        self.invitations.clear()
