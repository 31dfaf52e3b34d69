"""What a node does with an envelope from another node: hand it to the local actor.

Runs in the subscriber greenlet, one envelope at a time, and only ever ``tell``s:
the actors do the work in their own greenlets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from rtm_actors.protocol.codes import (
    ConnectionChangeReason,
    InvitationApiCallErrCode,
    PeerMessageErrCode,
    PeerOnlineState,
)
from rtm_actors.protocol.frames import Reply
from rtm_actors.protocol.server_session_io import store_or_unreachable
from rtm_actors.runtime import tell_or_run_inline
from rtm_actors.server import channel_messages as chm, messages as m
from rtm_actors.server.cluster import envelopes as e
from rtm_actors.server.cluster.remote import RemoteInvitationRef, RemoteUser
from rtm_actors.server.invitation_actor import (
    Acknowledged,
    Answer,
    Involve,
    PartyGone,
    PushInvitation,
    Uninvolve,
    invitation_ref,
)
from rtm_actors.server.session_port import NodeOffline

if TYPE_CHECKING:
    from rtm_actors.server.channel_messages import ChannelInput
    from rtm_actors.server.cluster.cluster import Cluster
    from rtm_actors.server.services import ClusterServices
    from rtm_actors.server.session import SessionMessage


def dispatch(cluster: Cluster, here: ClusterServices, env: e.AnyEnvelope) -> None:
    """Hand ``env`` to the actor it is for on this node."""
    match env:
        case e.MemberChange(origin=origin) if origin != cluster.node_id:
            _to_channel(here, env.app_id, env.channel_id, chm.RemoteMember(env))
        case e.AttributesChanged(origin=origin) if origin != cluster.node_id:
            _to_channel(here, env.app_id, env.channel_id, chm.RemoteAttributes(env.notify))
        case e.PresenceChange(app_id=app_id, user_id=user_id, state=state, node=node):
            offline = state == PeerOnlineState.OFFLINE
            cluster.route_changed((app_id, user_id), None if offline else node)
            here.presence.changed((app_id, user_id), PeerOnlineState(state))
        case e.BanChange(origin=origin, app_id=app_id, user_id=user_id, banned=banned):
            if origin != cluster.node_id:
                cluster.bans.apply((app_id, user_id), banned=banned)
                if banned:
                    _to_user(
                        here,
                        app_id,
                        user_id,
                        m.KickSession(ConnectionChangeReason.BANNED_BY_SERVER),
                    )
        case e.PeerDeliver():
            _deliver(cluster, here, env)
        case e.PeerResult(app_id=app_id, to=to):
            code = PeerMessageErrCode(env.code)
            _to_user(here, app_id, to, m.Delivered(env.receiver_id, env.message_id, code))
        case e.KickUser(app_id=app_id, to=to, session_key=session_key):
            entry = here.directory.lookup((app_id, to))
            if entry is not None and entry.session_key == session_key:
                successor = RemoteUser(cluster, env.successor_node, app_id, to)
                reason = ConnectionChangeReason(env.reason or ConnectionChangeReason.REMOTE_LOGIN)
                tell_or_run_inline(entry.ref, m.KickSession(reason, successor))
        case e.ReplyTo(app_id=app_id, to=to):
            _to_user(here, app_id, to, chm.SendFrame(Reply(env.rid, env.code, env.ts)))
        case e.InvitationPushTo(app_id=app_id, to=to, frame=frame):
            key = (app_id, env.caller_id, frame.invitation_id)
            actor = RemoteInvitationRef(cluster, env.origin, key)
            if not _to_user(here, app_id, to, PushInvitation(frame, env.role, actor)):
                actor.tell(PartyGone(env.role))
        case e.InvolveUser(app_id=app_id, to=to):
            key = (app_id, env.caller_id, env.invitation_id)
            actor = RemoteInvitationRef(cluster, env.origin, key)
            message = Involve(actor, env.role, key) if env.involved else Uninvolve(key)
            _to_user(here, app_id, to, message)
        case e.InvitationInput():
            _to_invitation(cluster, here, env)


def _to_user(here: ClusterServices, app_id: str, user_id: str, message: SessionMessage) -> bool:
    ref = here.directory.route((app_id, user_id))
    return ref is not None and tell_or_run_inline(ref, message)


def _to_channel(here: ClusterServices, app_id: str, channel_id: str, message: ChannelInput) -> None:
    ref = here.channels.get(app_id, channel_id)
    if ref is not None:
        tell_or_run_inline(ref, message)


def _deliver(cluster: Cluster, here: ClusterServices, env: e.PeerDeliver) -> None:
    sender = RemoteUser(cluster, env.sender_node, env.app_id, env.sender_id)
    delivery = m.Deliver(sender, env.sender_id, env.message, env.ts, env.offline_ok)
    if _to_user(here, env.app_id, env.to, delivery):
        return
    if not env.forwarded:
        # The sender's node had an old route: the receiver is on another node now.
        node = cluster.locate((env.app_id, env.to), fresh=True)
        if node is not None and node != cluster.node_id:
            cluster.to_node(node, msgspec.structs.replace(env, forwarded=True))
            return
    # The receiver left this node meanwhile: keep it offline if asked, else report.
    code = store_or_unreachable(NodeOffline(here.offline, env.app_id), env.to, delivery)
    sender.tell(m.Delivered(env.to, env.message.id, code))


def _to_invitation(cluster: Cluster, here: ClusterServices, env: e.InvitationInput) -> None:
    actor = invitation_ref(here.invitations, (env.app_id, env.caller_id, env.invitation_id))
    if env.what == "answer":
        answerer = RemoteUser(cluster, env.node, env.app_id, env.user_id)
        if not tell_or_run_inline(
            actor, Answer(answerer, env.user_id, env.rid, env.accept, env.response)
        ):
            answerer.tell(chm.SendFrame(Reply(env.rid, InvitationApiCallErrCode.ALREADY_END)))
    elif env.what == "ack":
        tell_or_run_inline(actor, Acknowledged(env.role, env.event))
    elif env.what == "gone":
        tell_or_run_inline(actor, PartyGone(env.role))
