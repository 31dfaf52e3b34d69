"""Stand-ins for actors on other nodes: ``tell`` turns a message into an envelope.

Server code routes with refs (``tell_or_run_inline(ref, message)``); when the user's session
or the invitation lives on another node, the ref is one of these, and the few
messages that may cross nodes are published to that node's inbox. Nothing else
in the server needs to know where an actor lives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from rtm_actors.protocol.frames import Reply
from rtm_actors.server import channel_messages as chm, messages as m
from rtm_actors.server.cluster import envelopes as e
from rtm_actors.server.invitation_actor import (
    Acknowledged,
    Answer,
    Involve,
    PartyGone,
    PartyInput,
    PushInvitation,
    Uninvolve,
)

if TYPE_CHECKING:
    from rtm_actors.server.cluster.cluster import Cluster
    from rtm_actors.server.session import SessionMessage

log = structlog.get_logger("rtm_actors.server.cluster")


class RemoteUser:
    """The session of ``user_id`` on ``node``, reached through that node's inbox."""

    __slots__ = ("app_id", "cluster", "node", "user_id")

    def __init__(self, cluster: Cluster, node: str, app_id: str, user_id: str) -> None:
        self.cluster = cluster
        self.node = node
        self.app_id = app_id
        self.user_id = user_id

    def tell(self, message: SessionMessage) -> None:
        """Publish ``message`` to the user's node (the ones that can cross nodes)."""
        app, to, me = self.app_id, self.user_id, self.cluster.node_id
        envelope: e.AnyEnvelope
        match message:
            case m.Deliver(store_id=store_id) if store_id is not None:
                return  # still in the shared offline store: the new session loads it
            case m.Deliver(sender_id=sender_id, message=msg, ts=ts, offline_ok=offline_ok):
                envelope = e.PeerDeliver(app, to, me, sender_id, msg, ts, offline_ok)
            case m.Delivered(receiver_id=receiver_id, message_id=message_id, code=code):
                envelope = e.PeerResult(app, to, receiver_id, message_id, int(code))
            case chm.SendFrame(frame=Reply(rid=rid, code=code, ts=ts)):
                # (Only an invitation's answer is replied to across nodes: channel
                # replies go to the channel's members, which are local.)
                envelope = e.ReplyTo(app, to, rid, code, ts)
            case PushInvitation(frame=frame, role=role):
                envelope = e.InvitationPushTo(app, to, me, frame.caller_id, frame, role)
            case Involve(role=role, key=key):
                envelope = e.InvolveUser(app, to, me, key[1], key[2], role, involved=True)
            case Uninvolve(key=key):
                envelope = e.InvolveUser(app, to, me, key[1], key[2], "", involved=False)
            case _:
                log.warning("not_sent_across_nodes", message=type(message).__name__)
                return
        self.cluster.to_node(self.node, envelope)


class RemoteInvitationRef:
    """An invitation in flight on ``node`` (its caller's), for the callee's session."""

    __slots__ = ("cluster", "key", "node")

    def __init__(self, cluster: Cluster, node: str, key: tuple[str, str, int]) -> None:
        self.cluster = cluster
        self.node = node
        self.key = key

    def tell(self, message: PartyInput) -> None:
        """Publish the callee's acknowledgement, answer or departure to the invitation."""
        app, caller_id, invitation_id = self.key
        envelope: e.InvitationInput
        match message:
            case Acknowledged(role=role, event=event):
                envelope = e.InvitationInput(app, caller_id, invitation_id, "ack", role, event)
            case PartyGone(role=role):
                envelope = e.InvitationInput(app, caller_id, invitation_id, "gone", role)
            case Answer(user_id=user_id, rid=rid, accept=accept, response=response):
                envelope = e.InvitationInput(
                    app,
                    caller_id,
                    invitation_id,
                    "answer",
                    node=self.cluster.node_id,
                    user_id=user_id,
                    rid=rid,
                    accept=accept,
                    response=response,
                )
            case _:
                log.warning("not_sent_across_nodes", message=type(message).__name__)
                return
        self.cluster.to_node(self.node, envelope)
