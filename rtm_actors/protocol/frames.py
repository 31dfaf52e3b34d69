"""Wire frames of protocol version 1: two tagged unions of frozen msgspec Structs.

Client frames are requests (imperative names) or acknowledgements; server frames
are replies (carrying the request id ``rid`` back) or pushes (facts, no ``rid``).
``docs/protocol.md`` is the reference for every field.
"""

from __future__ import annotations

from typing import Final

import msgspec

PROTOCOL_VERSION: Final = 1


class WireMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A peer or channel message as it travels.

    ``id`` is chosen by the sender's SDK (unique per sender); ``kind`` is a
    ``MessageType`` value; ``raw`` travels base64-encoded in JSON.
    """

    id: int
    kind: int = 1
    text: str = ""
    raw: bytes | None = None


class WireChannelAttribute(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One channel attribute with who last wrote it and when (ms since the epoch)."""

    key: str
    value: str
    user_id: str = ""
    ts: int = 0


class ClientFrame(msgspec.Struct, frozen=True, tag_field="t", forbid_unknown_fields=True):
    """Base of every frame a client sends."""


class Login(ClientFrame, frozen=True, tag="login"):
    """Log in, or resume a session whose link dropped (``resume`` set)."""

    rid: int
    app_id: str
    user_id: str
    token: str = ""
    version: int = PROTOCOL_VERSION
    resume: str | None = None


class Logout(ClientFrame, frozen=True, tag="logout"):
    """End the session; the server answers with ``Reply`` and closes."""

    rid: int


class SendPeerMessage(ClientFrame, frozen=True, tag="send_peer"):
    """Send ``message`` to user ``peer_id``; answered by ``Reply`` with a ``PeerMessageErrCode``."""

    rid: int
    peer_id: str
    message: WireMessage
    offline: bool = False


class RenewToken(ClientFrame, frozen=True, tag="renew_token"):
    """A new token for this session; answered by ``Reply`` (``RenewTokenErrCode``)."""

    rid: int
    token: str


class Ack(ClientFrame, frozen=True, tag="ack"):
    """The client holds every push up to and including ``seq``."""

    seq: int


class Ping(ClientFrame, frozen=True, tag="ping"):
    """Heartbeat; the server answers ``Pong`` with the same ``ts``."""

    ts: float = 0.0


class QueryPresence(ClientFrame, frozen=True, tag="query_presence"):
    """Online state of up to 256 users; answered by ``PresenceReply``."""

    rid: int
    peer_ids: list[str]


class Subscribe(ClientFrame, frozen=True, tag="subscribe"):
    """Watch these users' online state; ``Reply``, then a ``PresenceChanged`` push."""

    rid: int
    peer_ids: list[str]


class Unsubscribe(ClientFrame, frozen=True, tag="unsubscribe"):
    """Stop watching these users; answered by ``Reply``."""

    rid: int
    peer_ids: list[str]


class QuerySubscriptions(ClientFrame, frozen=True, tag="query_subscriptions"):
    """Which users this session watches; answered by ``PeersReply``."""

    rid: int
    option: int = 0


class SetLocalAttributes(ClientFrame, frozen=True, tag="set_attrs"):
    """Replace the user's own attributes; answered by ``Reply``."""

    rid: int
    attributes: dict[str, str]


class AddOrUpdateLocalAttributes(ClientFrame, frozen=True, tag="add_attrs"):
    """Add or update some of the user's own attributes; answered by ``Reply``."""

    rid: int
    attributes: dict[str, str]


class DeleteLocalAttributes(ClientFrame, frozen=True, tag="delete_attrs"):
    """Delete some of the user's own attributes by key; answered by ``Reply``."""

    rid: int
    keys: list[str]


class ClearLocalAttributes(ClientFrame, frozen=True, tag="clear_attrs"):
    """Delete all of the user's own attributes; answered by ``Reply``."""

    rid: int


class GetUserAttributes(ClientFrame, frozen=True, tag="get_attrs"):
    """Read a user's attributes (all, or those in ``keys``); answered by ``AttributesReply``."""

    rid: int
    user_id: str
    keys: list[str] | None = None


class JoinChannel(ClientFrame, frozen=True, tag="join"):
    """Join a channel; answered by ``JoinReply``. With ``epoch``/``after`` (a re-join after
    a reconnect), the channel replays messages newer than ``after`` (at most 32, 30 s)."""

    rid: int
    channel_id: str
    epoch: str = ""
    after: int = 0


class LeaveChannel(ClientFrame, frozen=True, tag="leave"):
    """Leave a channel; answered by ``Reply`` with a ``LeaveChannelErr``."""

    rid: int
    channel_id: str


class SendChannelMessage(ClientFrame, frozen=True, tag="send_channel"):
    """Send to every other member; ``Reply`` (``ChannelMessageErrCode``) once accepted."""

    rid: int
    channel_id: str
    message: WireMessage


class CatchUp(ClientFrame, frozen=True, tag="catch_up"):
    """After a resumed link: replay channel messages newer than ``after`` (no reply)."""

    channel_id: str
    epoch: str
    after: int


class GetMembers(ClientFrame, frozen=True, tag="get_members"):
    """Up to 512 members of a joined channel; answered by ``MembersReply``."""

    rid: int
    channel_id: str


class GetChannelMemberCount(ClientFrame, frozen=True, tag="get_member_count"):
    """Member counts of up to 32 channels; answered by ``CountsReply``."""

    rid: int
    channel_ids: list[str]


class ChannelAttributesWrite(ClientFrame, frozen=True, tag="channel_attrs"):
    """A write of channel attributes (``op``: set, add_or_update, delete, clear);
    answered by ``Reply`` with an ``AttributeOperationErr``. No membership needed."""

    rid: int
    channel_id: str
    op: str
    attributes: dict[str, str] = {}
    keys: list[str] = []
    notify: bool = False


class GetChannelAttributes(ClientFrame, frozen=True, tag="get_channel_attrs"):
    """Read a channel's attributes (all, or ``keys``); answered by ``ChannelAttributesReply``."""

    rid: int
    channel_id: str
    keys: list[str] | None = None


class SendInvitation(ClientFrame, frozen=True, tag="invite"):
    """Invite ``callee_id``; ``invitation_id`` is chosen by the caller's SDK (unique per
    caller). Answered by ``Reply`` (``InvitationApiCallErrCode``); the rest is events."""

    rid: int
    invitation_id: int
    callee_id: str
    content: str = ""
    channel_id: str = ""


class CancelInvitation(ClientFrame, frozen=True, tag="cancel_invite"):
    """The caller cancels; answered by ``Reply``."""

    rid: int
    invitation_id: int


class AnswerInvitation(ClientFrame, frozen=True, tag="answer_invite"):
    """The callee accepts (``accept`` true) or refuses, with a ``response``; ``Reply``."""

    rid: int
    caller_id: str
    invitation_id: int
    accept: bool
    response: str = ""


class ServerFrame(msgspec.Struct, frozen=True, tag_field="t", forbid_unknown_fields=True):
    """Base of every frame the server sends."""


class LoginOk(ServerFrame, frozen=True, tag="login_ok"):
    """Login (or resume) succeeded. ``session`` is the key to resume with."""

    rid: int
    session: str
    server_ts: int
    resumed: bool = False
    heartbeat_s: float = 10.0


class Reply(ServerFrame, frozen=True, tag="reply"):
    """The outcome of request ``rid``: an Agora error code of that request's family."""

    rid: int
    code: int
    ts: int = 0


class PeerMessage(ServerFrame, frozen=True, tag="peer_msg"):
    """A peer message for this client; acknowledge ``seq`` with ``Ack``."""

    seq: int
    peer_id: str
    message: WireMessage
    ts: int
    offline: bool = False


class Kick(ServerFrame, frozen=True, tag="kick"):
    """The server ends the session for ``reason`` (a ``ConnectionChangeReason``) and closes."""

    reason: int
    detail: str = ""


class TokenWillExpire(ServerFrame, frozen=True, tag="token_will_expire"):
    """The session's token expires at ``expires_at`` (unix seconds): renew it."""

    expires_at: int


class Pong(ServerFrame, frozen=True, tag="pong"):
    """Answer to ``Ping``."""

    ts: float = 0.0


class PresenceReply(ServerFrame, frozen=True, tag="presence_reply"):
    """Answer to ``QueryPresence``: one ``PeerOnlineState`` per asked id, in order."""

    rid: int
    code: int
    states: list[int] = []


class PeersReply(ServerFrame, frozen=True, tag="peers_reply"):
    """Answer to ``QuerySubscriptions``."""

    rid: int
    code: int
    peer_ids: list[str] = []


class AttributesReply(ServerFrame, frozen=True, tag="attrs_reply"):
    """Answer to ``GetUserAttributes``."""

    rid: int
    code: int
    user_id: str = ""
    attributes: dict[str, str] = {}


class PresenceChanged(ServerFrame, frozen=True, tag="presence"):
    """Watched users changed state (user id -> ``PeerOnlineState``); acknowledge ``seq``."""

    seq: int
    states: dict[str, int]


class JoinReply(ServerFrame, frozen=True, tag="join_reply"):
    """Answer to ``JoinChannel`` (``JoinChannelErr``), with the member count right after."""

    rid: int
    code: int
    channel_id: str = ""
    epoch: str = ""
    member_count: int = 0


class MembersReply(ServerFrame, frozen=True, tag="members_reply"):
    """Answer to ``GetMembers`` (``GetMembersErr``)."""

    rid: int
    code: int
    user_ids: list[str] = []


class CountsReply(ServerFrame, frozen=True, tag="counts_reply"):
    """Answer to ``GetChannelMemberCount`` (``GetChannelMemberCountErrCode``)."""

    rid: int
    code: int
    counts: dict[str, int] = {}


class ChannelAttributesReply(ServerFrame, frozen=True, tag="channel_attrs_reply"):
    """Answer to ``GetChannelAttributes`` (``AttributeOperationErr``)."""

    rid: int
    code: int
    attributes: list[WireChannelAttribute] = []


class ChannelMessage(ServerFrame, frozen=True, tag="channel_msg"):
    """A message in a joined channel. ``cseq`` numbers the channel's messages within its
    ``epoch``; remember the last one to catch up after a reconnect. Not acknowledged."""

    channel_id: str
    epoch: str
    cseq: int
    peer_id: str
    message: WireMessage
    ts: int


class MemberJoined(ServerFrame, frozen=True, tag="member_joined"):
    """Someone joined a channel you are in; acknowledge ``seq``."""

    seq: int
    channel_id: str
    user_id: str


class MemberLeft(ServerFrame, frozen=True, tag="member_left"):
    """Someone left a channel you are in (or its grace period ran out); acknowledge ``seq``."""

    seq: int
    channel_id: str
    user_id: str


class ChannelAttributesUpdated(ServerFrame, frozen=True, tag="channel_attrs_updated"):
    """The full attribute set of a channel you are in, after a notified write."""

    seq: int
    channel_id: str
    attributes: list[WireChannelAttribute]


class MemberCount(ServerFrame, frozen=True, tag="member_count"):
    """The member count of a channel you are in (at most once a second; 3 s above 512)."""

    channel_id: str
    count: int


class InvitationEvent(ServerFrame, frozen=True, tag="invitation"):
    """Something happened to an invitation; acknowledge ``seq``. ``role`` is what the
    receiving user is in it: "caller" or "callee".

    ``event``: to the callee "received" (with content and channel), then one of
    "accepted", "refused", "canceled", "failed"; to the caller "received_by_peer", then
    one of the same four. ``code`` is the failure's ``Local``/``RemoteInvitationErrCode``.
    """

    seq: int
    role: str
    event: str
    invitation_id: int
    caller_id: str
    callee_id: str
    content: str = ""
    channel_id: str = ""
    response: str = ""
    code: int = 0


class Error(ServerFrame, frozen=True, tag="error"):
    """A frame the server could not accept; ``rid`` names the request when known."""

    code: int
    detail: str
    rid: int | None = None


AnyClientFrame = (
    Login
    | Logout
    | RenewToken
    | SendPeerMessage
    | Ack
    | Ping
    | QueryPresence
    | Subscribe
    | Unsubscribe
    | QuerySubscriptions
    | SetLocalAttributes
    | AddOrUpdateLocalAttributes
    | DeleteLocalAttributes
    | ClearLocalAttributes
    | GetUserAttributes
    | JoinChannel
    | LeaveChannel
    | SendChannelMessage
    | CatchUp
    | GetMembers
    | GetChannelMemberCount
    | ChannelAttributesWrite
    | GetChannelAttributes
    | SendInvitation
    | CancelInvitation
    | AnswerInvitation
)
AnyServerFrame = (
    LoginOk
    | TokenWillExpire
    | Reply
    | PeerMessage
    | Kick
    | Pong
    | Error
    | PresenceReply
    | PeersReply
    | AttributesReply
    | PresenceChanged
    | JoinReply
    | MembersReply
    | CountsReply
    | ChannelAttributesReply
    | ChannelMessage
    | MemberJoined
    | MemberLeft
    | ChannelAttributesUpdated
    | MemberCount
    | InvitationEvent
)
