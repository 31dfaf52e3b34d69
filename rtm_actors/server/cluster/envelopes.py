"""What nodes tell each other through Redis pub/sub: typed envelopes, msgpack-encoded.

Three kinds of topics carry them (``{p}`` is ``rtm:{db}:``, since pub/sub is not
scoped by database):

- ``{p}node:{node}``: one node's inbox (peer messages, their results, kicks,
  replies and invitation traffic for users whose session is there);
- ``{p}ch:{app}:{channel}``: a channel's member events and attribute changes,
  subscribed by each node with a live actor for it (its posts go to the channel's
  log stream instead: ``channel_log``);
- ``{p}presence``: users' state changes, subscribed by every node.

A publish carries a list of envelopes (the publisher batches per topic), so a burst
costs one Redis command and one decode per topic, not per message.
"""

from __future__ import annotations

import msgspec

from rtm_actors.protocol.frames import InvitationEvent, WireMessage


class Envelope(msgspec.Struct, frozen=True, tag_field="t", array_like=True):
    """Base of everything that crosses nodes."""


class PeerDeliver(Envelope, frozen=True, tag="d"):
    """A peer message for ``to``, whose session is on the receiving node."""

    app_id: str
    to: str
    sender_node: str
    sender_id: str
    message: WireMessage
    ts: int
    offline_ok: bool
    #: Sent on by a node the receiver had just left (at most once).
    forwarded: bool = False


class PeerResult(Envelope, frozen=True, tag="r"):
    """The outcome of ``sender_id``'s message ``message_id`` to ``receiver_id``."""

    app_id: str
    to: str
    receiver_id: str
    message_id: int
    code: int


class KickUser(Envelope, frozen=True, tag="k"):
    """End ``to``'s session ``session_key``: a login on ``successor_node`` took over."""

    app_id: str
    to: str
    session_key: str
    reason: int
    successor_node: str


class ReplyTo(Envelope, frozen=True, tag="rp"):
    """A reply frame for ``to``'s client (answers to invitation requests)."""

    app_id: str
    to: str
    rid: int
    code: int
    ts: int


class InvitationPushTo(Envelope, frozen=True, tag="ip"):
    """Push an invitation event to ``to``; the invitation lives on ``origin``."""

    app_id: str
    to: str
    origin: str
    caller_id: str
    frame: InvitationEvent
    role: str


class InvolveUser(Envelope, frozen=True, tag="iv"):
    """``to`` takes part in the invitation (``involved``) or it is over (not)."""

    app_id: str
    to: str
    origin: str
    caller_id: str
    invitation_id: int
    role: str
    involved: bool


class InvitationInput(Envelope, frozen=True, tag="ii"):
    """Something for the invitation ``(app, caller, invitation_id)`` on its node.

    ``what`` is "ack" (``role`` acknowledged ``event``), "gone" (``role``'s session
    ended) or "answer" (callee ``user_id`` on ``node`` answered ``accept``).
    """

    app_id: str
    caller_id: str
    invitation_id: int
    what: str
    role: str = ""
    event: str = ""
    node: str = ""
    user_id: str = ""
    rid: int = 0
    accept: bool = False
    response: str = ""


class PresenceChange(Envelope, frozen=True, tag="p"):
    """``user_id`` is now ``state``, with its session on ``node``."""

    app_id: str
    user_id: str
    state: int
    node: str = ""


class BanChange(Envelope, frozen=True, tag="b"):
    """An operator banned (or let back) ``user_id``, through ``origin``."""

    origin: str
    app_id: str
    user_id: str
    banned: bool


class ChannelPost(Envelope, frozen=True, tag="c"):
    """A channel message published on ``origin``."""

    origin: str
    app_id: str
    channel_id: str
    sender_id: str
    message: WireMessage
    ts: int
    #: The origin's number for its posts (``channel_log.FirstSeen`` drops a copy).
    seq: int = 0


class MemberChange(Envelope, frozen=True, tag="m"):
    """``user_id`` joined or left the channel through ``node`` (told by ``origin``)."""

    origin: str
    app_id: str
    channel_id: str
    user_id: str
    node: str
    joined: bool


class AttributesChanged(Envelope, frozen=True, tag="a"):
    """The channel's attributes were written on ``origin``; ``notify`` members."""

    origin: str
    app_id: str
    channel_id: str
    notify: bool


AnyEnvelope = (
    PeerDeliver
    | PeerResult
    | KickUser
    | ReplyTo
    | InvitationPushTo
    | InvolveUser
    | InvitationInput
    | PresenceChange
    | BanChange
    | ChannelPost
    | MemberChange
    | AttributesChanged
)

encode_batch = encode_one = msgspec.msgpack.Encoder().encode
decode_batch = msgspec.msgpack.Decoder(list[AnyEnvelope]).decode
