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


class ServerFrame(msgspec.Struct, frozen=True, tag_field="t", forbid_unknown_fields=True):
    """Base of every frame the server sends."""


class LoginOk(ServerFrame, frozen=True, tag="login_ok"):
    """Login (or resume) succeeded. ``session`` is the key to resume with."""

    rid: int
    session: str
    server_ts: int
    resumed: bool = False
    heartbeat_s: float = 2.0


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


class Error(ServerFrame, frozen=True, tag="error"):
    """A frame the server could not accept; ``rid`` names the request when known."""

    code: int
    detail: str
    rid: int | None = None


AnyClientFrame = (
    Login
    | Logout
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
)
AnyServerFrame = (
    LoginOk
    | Reply
    | PeerMessage
    | Kick
    | Pong
    | Error
    | PresenceReply
    | PeersReply
    | AttributesReply
    | PresenceChanged
)
