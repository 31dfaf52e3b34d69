"""What goes in and out of ``ServerSession``: its messages, effects, port and settings.

Sans-IO: nothing here does anything. ``Deliver`` and ``Delivered`` travel between two
sessions (the machine makes them and takes them); the effects are what a session asks
its shell to carry out; ``SessionPort`` is the shell as the machine sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Protocol

import msgspec

from rtm_actors.protocol.attributes import AttributeOp
from rtm_actors.protocol.codes import DisconnectCode, PeerMessageErrCode, PeerOnlineState
from rtm_actors.protocol.frames import AnyServerFrame, InvitationEvent, WireMessage
from rtm_actors.protocol.limits import message_size
from rtm_actors.protocol.tokens import TokenCheck


class SessionRef(Protocol):
    """Another actor as the machine sees it: something to hand to ``SessionPort.tell``
    or to an effect (a session, a channel, an invitation, here or on another node)."""

    def tell(self, message: Any) -> None: ...


# -- messages between sessions ----------------------------------------------------


class Deliver(msgspec.Struct, frozen=True):
    """A peer message for the receiving session to push to its client.

    ``sender`` gets ``Delivered`` back once the client acknowledged it. A message
    that came out of the offline store has ``store_id`` set and no ``sender``.
    """

    sender: SessionRef | None
    sender_id: str
    message: WireMessage
    ts: int
    offline_ok: bool
    store_id: int | None = None


class Delivered(msgspec.Struct, frozen=True):
    """The outcome of a peer message, for the sending session to report to its client."""

    receiver_id: str
    message_id: int
    code: PeerMessageErrCode


# -- pushes: what waits in the delivery window ------------------------------------


@dataclass(frozen=True, slots=True)
class PresencePush:
    """Watched users' new states, waiting in the delivery window like a message."""

    states: dict[str, int]


@dataclass(frozen=True, slots=True)
class EventPush:
    """A channel event (member joined/left, attributes updated) in the delivery window."""

    frame: AnyServerFrame


class InvitationPush(msgspec.Struct, frozen=True):
    """An invitation event in the delivery window; its acknowledgement goes to ``actor``.
    (A msgspec struct: four per round trip, ~1 us each as a frozen dataclass.)"""

    frame: InvitationEvent
    role: str
    actor: SessionRef


Push = Deliver | PresencePush | EventPush | InvitationPush


class SessionTimer(Enum):
    """The timers a session asks its shell to run."""

    #: The link stayed down for the whole grace period: the session ends.
    GRACE = "grace"
    #: The link has been silent for ``unreachable_after``: the user is UNREACHABLE.
    UNREACHABLE = "unreachable"
    #: The session token expires in ``token_warning`` seconds: warn the client.
    TOKEN_WARN = "token_warn"
    #: The session token expired: the session ends.
    TOKEN_EXPIRED = "token_expired"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """The node's settings a session's rules use (``ServerConfig`` has them all)."""

    max_unacked: int = 2000
    max_unacked_bytes: int = 8 << 20
    max_backlog: int = 5000
    dedup_window: int = 4096
    grace_period: float = 30.0
    unreachable_after: float = 6.0
    token_warning: float = 30.0
    heartbeat_interval: float = 10.0
    max_live_invitations: int = 32


# -- effects ---------------------------------------------------------------------
# Rare outputs are frozen structs handed to ``SessionPort.perform``. The hot ones
# (a frame to write, a message for another session) go straight to ``send`` and
# ``tell``: the frame and the message are the effect, and wrapping each in an object
# (and a list) would cost ~0.18 us four times per peer message (see ``server_session``).


class CloseSessionLink(msgspec.Struct, frozen=True):
    """Close the current link with ``code`` and forget it."""

    code: DisconnectCode
    reason: str


class ForgetLink(msgspec.Struct, frozen=True):
    """The current link is gone (its reader said so): forget it."""


class TakeLink(msgspec.Struct, frozen=True):
    """The link being attached becomes the current one: frames go there from now on."""


class TakenOver(msgspec.Struct, frozen=True):
    """The link being attached lost to a newer login: tell it REMOTE_LOGIN and close it."""


class StartSessionTimer(msgspec.Struct, frozen=True):
    """Start (or restart) ``timer`` to fire after ``delay`` seconds."""

    timer: SessionTimer
    delay: float


class CancelSessionTimer(msgspec.Struct, frozen=True):
    """Cancel ``timer`` if it runs."""

    timer: SessionTimer


class CancelAllTimers(msgspec.Struct, frozen=True):
    """Cancel every timer (the session ends)."""


class SaveAttributes(msgspec.Struct, frozen=True):
    """Replace the user's own attributes in the node's attribute store."""

    attributes: dict[str, str]


class DeleteStored(msgspec.Struct, frozen=True):
    """These offline messages reached the client: delete them from the store."""

    store_ids: tuple[int, ...]


class Unwatch(msgspec.Struct, frozen=True):
    """Stop watching these users' presence."""

    user_ids: tuple[str, ...]


class LogEvent(msgspec.Struct, frozen=True):
    """Log ``event`` (info level) with ``fields``, and the session's identity."""

    event: str
    fields: dict[str, object]


class Stop(msgspec.Struct, frozen=True):
    """The session ended: stop the actor."""


# Requests to channel actors; ``perform`` answers whether the channel was alive.


class ChannelJoin(msgspec.Struct, frozen=True):
    """Join ``channel`` (queued, never inline: the join waits on nobody)."""

    channel: SessionRef
    channel_id: str
    rid: int
    epoch: str
    after: int


class ChannelLeave(msgspec.Struct, frozen=True):
    """Leave ``channel``; ``rid`` 0 when the session ends (no reply)."""

    channel: SessionRef
    channel_id: str
    rid: int


class PublishRequest(msgspec.Struct, frozen=True):
    """Post ``message`` to the channel's other members."""

    channel: SessionRef
    rid: int
    message: WireMessage
    ts: int


class ChannelCatchUp(msgspec.Struct, frozen=True):
    """Replay what the channel sent after ``after`` (epoch ``epoch``)."""

    channel: SessionRef
    epoch: str
    after: int


class MembersRequest(msgspec.Struct, frozen=True):
    """List the channel's members."""

    channel: SessionRef
    rid: int


class WriteChannelAttributes(msgspec.Struct, frozen=True):
    """Write the channel's attributes (queued, never inline)."""

    channel: SessionRef
    rid: int
    op: AttributeOp
    attributes: dict[str, str]
    keys: list[str]
    notify: bool
    ts: int


class ReadChannelAttributes(msgspec.Struct, frozen=True):
    """Read the channel's attributes."""

    channel: SessionRef
    rid: int
    keys: list[str] | None


# Requests to invitation actors; ``perform`` answers whether the invitation was alive.


class CancelInvitationRequest(msgspec.Struct, frozen=True):
    """The caller cancels."""

    invitation: SessionRef
    rid: int


class AnswerInvitationRequest(msgspec.Struct, frozen=True):
    """The callee accepts or refuses."""

    invitation: SessionRef
    rid: int
    accept: bool
    response: str


class InvitationAcknowledged(msgspec.Struct, frozen=True):
    """The client acknowledged the invitation's push ``event``."""

    invitation: SessionRef
    role: str
    event: str


class LeaveInvitation(msgspec.Struct, frozen=True):
    """This session, a party as ``role``, ends."""

    invitation: SessionRef
    role: str


Effect = (
    CloseSessionLink
    | ForgetLink
    | TakeLink
    | TakenOver
    | StartSessionTimer
    | CancelSessionTimer
    | CancelAllTimers
    | SaveAttributes
    | DeleteStored
    | Unwatch
    | LogEvent
    | Stop
    | ChannelJoin
    | ChannelLeave
    | PublishRequest
    | ChannelCatchUp
    | MembersRequest
    | WriteChannelAttributes
    | ReadChannelAttributes
    | CancelInvitationRequest
    | AnswerInvitationRequest
    | InvitationAcknowledged
    | LeaveInvitation
)

#: The node's counters a session adds to.
Counter = Literal[
    "peer_messages",
    "deliveries",
    "slow_consumers",
    "protocol_errors",
    "links_lost",
    "sessions_ended",
]


# -- the port ----------------------------------------------------------------------


class OfflinePort(Protocol):
    """The node's offline store and its quotas, for one app."""

    def accepts_offline(self) -> bool:
        """Whether the store keeps a message as long as a sender is told it does."""
        ...

    def admit_offline(self, sender_id: str, size: int, at_s: float) -> bool:
        """Count ``size`` against the sender's and the app's quota, if within both."""
        ...

    def release_offline(self, sender_id: str, size: int, at_s: float) -> None:
        """A stored message left the store: its quota has room again."""
        ...

    def store_offline(self, receiver_id: str, delivery: Deliver) -> bool:
        """Keep ``delivery`` for ``receiver_id``; answer whether the store kept it."""
        ...


class SessionPort(OfflinePort, Protocol):
    """The shell as the machine sees it.

    Effects first (carried out at once, in order), then questions about node-wide
    state that outlives the session (the answer is needed before the rule can go on).
    """

    def send(self, frame: AnyServerFrame) -> None:
        """Write ``frame`` to the current link, if there is one."""
        ...

    def send_bytes(self, data: bytes) -> None:
        """Write a pre-built websocket frame (a channel message) to the current link."""
        ...

    def tell(self, ref: SessionRef, message: Deliver | Delivered) -> bool:
        """Tell another session (it may take the turn inline); False if it is gone."""
        ...

    def perform(self, effect: Effect) -> bool:
        """Carry out ``effect``; for a request to an actor, whether it was alive."""
        ...

    def count(self, counter: Counter, label: str = "") -> None:
        """Add one to a node counter (``label``: its reason, for labelled ones)."""
        ...

    def allow(self, what: str, now: float) -> bool:
        """Count one call of ``what`` against the user's rate limit (it outlives us)."""
        ...

    def allow_join(self, channel_id: str, now: float) -> bool:
        """Count a join of ``channel_id`` against the user's same-channel limit."""
        ...

    def route(self, user_id: str) -> SessionRef | None:
        """The session of ``user_id`` (here or on another node), None if offline."""
        ...

    def backlog(self) -> int:
        """Messages waiting in this session's inbox."""
        ...

    def silent_for(self) -> float:
        """Seconds since the current link last read a frame."""
        ...

    def check_token(self, token: str) -> TokenCheck:
        """Verify a renewal token for this user."""
        ...

    def set_presence(self, state: PeerOnlineState) -> bool:
        """Publish the user's state; False if another session owns the user now."""
        ...

    def unregister(self) -> bool:
        """Leave the routing table; False if a newer session had replaced this one."""
        ...

    def presence_states(self, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        """The users' states now."""
        ...

    def watch(self, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        """Watch the users' presence (``PresenceUpdate`` follows); their states now."""
        ...

    def attributes(self, user_id: str) -> dict[str, str]:
        """The user's attributes."""
        ...

    def stored_messages(self, now_ms: int) -> Iterable[Deliver]:
        """The user's offline messages, oldest first, as deliveries with a ``store_id``."""
        ...

    def channel(self, channel_id: str) -> SessionRef:
        """The channel's actor, started if not live."""
        ...

    def live_channel(self, channel_id: str) -> SessionRef | None:
        """The channel's actor if it is live."""
        ...

    def channel_for_write(self, channel_id: str) -> SessionRef | None:
        """The channel's actor for an attribute write; None if the app has no room."""
        ...

    def channel_counts(self, channel_ids: list[str]) -> dict[str, int]:
        """Member counts of the channels."""
        ...

    def invitation(self, key: tuple[str, str, int]) -> SessionRef | None:
        """A ref to invitation ``(app id, caller id, invitation id)`` on this node's desk
        (None: none can be reached)."""
        ...

    def start_invitation(
        self, invitation_id: int, callee_id: str, content: str, channel_id: str
    ) -> SessionRef:
        """Start an invitation with this session as the caller."""
        ...


def store_or_unreachable(
    port: OfflinePort, receiver_id: str, d: Deliver
) -> Literal[
    PeerMessageErrCode.PEER_UNREACHABLE,
    PeerMessageErrCode.TOO_OFTEN,
    PeerMessageErrCode.CACHED_BY_SERVER,
]:
    """Keep an undeliverable message for its receiver if the sender asked for that:
    ``CACHED_BY_SERVER`` only if the store kept it. Otherwise (no offline flag, the
    receiver's queue is full, or the store could not keep it as long as promised: a
    Redis without persistence, docs/cluster.md) ``PEER_UNREACHABLE``: not delivered,
    not kept; over the sender's or the app's quota, ``TOO_OFTEN``."""
    if not d.offline_ok or not port.accepts_offline():
        return PeerMessageErrCode.PEER_UNREACHABLE
    size = message_size(d.message.text, d.message.raw)
    if not port.admit_offline(d.sender_id, size, d.ts / 1000):
        return PeerMessageErrCode.TOO_OFTEN
    if not port.store_offline(receiver_id, d):
        port.release_offline(d.sender_id, size, d.ts / 1000)  # not kept: it holds nothing
        return PeerMessageErrCode.PEER_UNREACHABLE
    return PeerMessageErrCode.CACHED_BY_SERVER


def release_offline_quota(port: OfflinePort, d: Deliver) -> None:
    """A stored message ``d`` reached its receiver: its sender's quota has room again."""
    port.release_offline(d.sender_id, message_size(d.message.text, d.message.raw), d.ts / 1000)


def held_size(message: WireMessage) -> int:
    """About what holding ``message`` costs (characters, not UTF-8 bytes: no encode on
    the hot path)."""
    return len(message.text) + (len(message.raw) if message.raw else 0)
