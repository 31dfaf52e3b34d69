"""``ChannelActor``: one live channel on the server: members, attributes, fan-out.

A channel message is encoded once into a complete websocket frame and the same bytes
go to every other member: written straight to its link when that keeps the member's
order (through the member's write-only ``link.MemberWrite``), else through its session.
Writes never block the channel: a member whose link falls too far behind is cut off
alone. Messages carry a per-channel number so
a member back from a short drop can ask for what it missed (at most 32, 30 s).
An empty channel stops after ``empty_channel_ttl`` and its attributes go with it.

With several nodes (a ``Cluster``), each node with members has its own actor for the
channel: its members' posts are appended to the channel's log in Redis, and it fans
out every entry of the log (from any node) to its own members, numbered by the entry
id, so numbers and catch-up are the same on every node (``cluster/channel_log.py``);
member events go to the channel's topic, and it keeps who is a member through other
nodes (``_remote``) so that counts, member lists and member events are the channel's.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pykka
import structlog

from rtm_actors.protocol import codec
from rtm_actors.protocol.attributes import CHANNEL_LIMITS, apply_write, select
from rtm_actors.protocol.channel import (
    GET_MEMBERS_LIMIT,
    REPLAY_WINDOW_S,
    CountPacer,
    ReplayBuffer,
    member_events_enabled,
    sample_members,
)
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    ChannelMessageErrCode,
    GetMembersErr,
    JoinChannelErr,
    LeaveChannelErr,
)
from rtm_actors.protocol.flow import RecentIds
from rtm_actors.protocol.frames import (
    ChannelAttributesReply,
    ChannelAttributesUpdated,
    ChannelMessage,
    JoinReply,
    MemberCount,
    MemberJoined,
    MemberLeft,
    MembersReply,
    Reply,
    WireChannelAttribute,
    WireMessage,
)
from rtm_actors.runtime import GeventActor, NamedTimers, Yielder, now, tell_or_run_inline
from rtm_actors.server import channel_messages as chm, wsio
from rtm_actors.server.channel_messages import ChannelInput, MemberEvent, MemberRef
from rtm_actors.server.link import MemberWrite
from rtm_actors.store.base import StoredAttribute

if TYPE_CHECKING:
    from rtm_actors.runtime import Supervisor
    from rtm_actors.server.cluster.channel_log import LogCursor
    from rtm_actors.server.cluster.envelopes import ChannelPost
    from rtm_actors.server.config import ServerConfig
    from rtm_actors.server.metrics import ServerMetrics

log = structlog.get_logger("rtm_actors.server.channel")

#: (sender, message id) pairs a channel remembers to drop a message re-sent after a
#: reconnect; forgotten when the last member leaves.
PUBLISHED_IDS = 4096


class ChannelRegistry(Protocol):
    """The node's live channels (``Channels``) as one of them sees the registry."""

    def set_count(self, app_id: str, channel_id: str, count: int) -> None:
        """The channel's members on this node are now ``count``."""

    def forget(self, app_id: str, channel_id: str, ref: pykka.ActorRef[ChannelActor]) -> None:
        """The channel's actor ``ref`` stopped."""


class ChannelAcrossNodes(Protocol):
    """What a channel does with the other nodes (the node's ``Cluster``)."""

    def follow_log(self, app_id: str, channel_id: str) -> LogCursor:
        """Read the channel's log from its newest entry on."""

    def remote_members(self, app_id: str, channel_id: str) -> dict[str, str]:
        """Members through other nodes: user id -> node."""

    def member_joined(self, app_id: str, channel_id: str, user_id: str) -> None:
        """A member joined through this node."""

    def member_left(self, app_id: str, channel_id: str, user_id: str) -> str | None:
        """A member left through this node; the node it is a member through now, if any."""

    def refuse_post(self) -> bool:
        """Whether a message must be refused now (the publish queue nears its bound)."""

    def post(self, app_id: str, channel_id: str, sender_id: str, msg: WireMessage, ts: int) -> None:
        """Append a member's message to the channel's log."""

    def load_channel_attributes(self, app_id: str, channel_id: str) -> dict[str, StoredAttribute]:
        """The channel's attributes as the last node that wrote them left them."""

    def write_attributes(
        self, app_id: str, channel_id: str, attributes: dict[str, StoredAttribute], *, notify: bool
    ) -> None:
        """Store the channel's attributes and tell the other nodes."""

    def channel_emptied(self, app_id: str, channel_id: str) -> None:
        """The channel's last actor stops."""


@dataclass(frozen=True, slots=True)
class ChannelServices:
    """What each channel of a node is given (by the node's ``Channels``)."""

    config: ServerConfig
    #: The live channels: told this one's member count, and its end.
    registry: ChannelRegistry
    #: Counts the frames written straight to members' sockets (None: not counted).
    metrics: ServerMetrics | None = None
    #: The other nodes (several nodes on one Redis); None on a single node.
    cluster: ChannelAcrossNodes | None = None


class ChannelActor(GeventActor):
    """The server side of one channel of one app."""

    shutdown_tier = 10

    def __init__(self, node: ChannelServices, app_id: str, channel_id: str) -> None:
        super().__init__()
        self._registry = node.registry
        self.app_id = app_id
        self.channel_id = channel_id
        self._config = node.config
        self.epoch = secrets.token_hex(4)
        self._members: dict[str, MemberRef] = {}  # user id -> session ref
        #: user id -> the member's write-only capability (as of its latest join).
        self._writes: dict[str, MemberWrite] = {}
        self._attributes: dict[str, WireChannelAttribute] = {}
        self._cseq = 0
        self._recent: ReplayBuffer[bytes] = ReplayBuffer()
        self._published: RecentIds[bool] = RecentIds(PUBLISHED_IDS)
        self._pacer = CountPacer()
        self._empty_since: float | None = now()
        self._timers = NamedTimers(self.actor_ref)
        self._log = log.bind(app_id=app_id, channel=channel_id)
        #: The node's ``ServerMetrics`` (direct writes are counted here), if any.
        self._metrics = node.metrics
        #: The node's ``Cluster`` (several nodes on one Redis), else None.
        self._cluster = node.cluster
        #: Members through other nodes: user id -> node.
        self._remote: dict[str, str] = {}
        #: With a cluster: where this actor is in the channel's log.
        self._cursor: LogCursor | None = None

    def on_start(self) -> None:
        if self._cluster is not None:
            self._cursor = self._cluster.follow_log(self.app_id, self.channel_id)
            self.epoch = self._cursor.epoch
            self._load_remote()
        self._timers.start("tick", self._config.channel_tick, chm.ChannelTick())

    def on_receive(self, message: ChannelInput) -> None:
        match message:
            case chm.Publish():
                self._publish(message)
            case chm.Join():
                self._join(message)
            case chm.Leave(session=session, user_id=user_id, rid=rid):
                self._leave(session, user_id, rid)
            case chm.CatchUpRequest(session=session, user_id=user_id, epoch=epoch, after=after):
                if user_id in self._members:
                    self._replay(session, user_id, epoch, after)
            case chm.ListMembers(session=session, user_id=user_id, rid=rid):
                self._list_members(session, user_id, rid)
            case chm.WriteAttributes():
                self._write_attributes(message)
            case chm.ReadAttributes(session=session, rid=rid, keys=keys):
                chosen = select(self._plain_attributes(), keys)
                attrs = [self._attributes[k] for k in chosen]
                tell_or_run_inline(session, chm.SendFrame(ChannelAttributesReply(rid, 0, attrs)))
            case chm.ChannelTick():
                self._tick()
            case chm.LogPost(cseq=cseq, post=post):
                self._logged(cseq, post)
            case chm.LogGap():
                # Past the log's bound: say so (the members' catch-up cannot cover it).
                self._log.warning("channel_messages_missed", reason="log trimmed before read")
            case chm.RemoteMember(change=change):
                self._remote_member(change.user_id, change.node, joined=change.joined)
            case chm.RemoteAttributes(notify=notify):
                self._load_attributes()
                if notify:
                    self._notify_attributes()
            case chm.Resync():
                self._resync()

    # -- membership ------------------------------------------------------------

    def _join(self, join: chm.Join) -> None:
        user_id, session = join.user_id, join.session
        # Joining again from the same session (a request re-sent after a reconnect) is
        # answered OK again; the SDK refuses a second join by the application itself.
        replaced = self._members.get(user_id)
        self._members[user_id] = session
        if join.write is not None:
            self._writes[user_id] = join.write
        else:
            self._writes.pop(user_id, None)
        moved = self._remote.pop(user_id, None)
        if self._cluster is not None and replaced is None:
            self._cluster.member_joined(self.app_id, self.channel_id, user_id)
        self._empty_since = None
        self._update_count()
        count = self._count()
        reply = JoinReply(join.rid, JoinChannelErr.OK, self.channel_id, self.epoch, count)
        tell_or_run_inline(session, chm.SendFrame(reply))
        if join.epoch:
            self._replay(session, user_id, join.epoch, join.after)
        if replaced is not session and moved is None and member_events_enabled(count):
            self._to_others(user_id, MemberJoined(0, self.channel_id, user_id))

    def _leave(self, session: MemberRef, user_id: str, rid: int) -> None:
        if self._members.get(user_id) is not session:
            if rid:
                reply = Reply(rid, LeaveChannelErr.NOT_IN_CHANNEL)
                tell_or_run_inline(session, chm.SendFrame(reply))
            return
        del self._members[user_id]
        self._writes.pop(user_id, None)
        elsewhere = None
        if self._cluster is not None:
            elsewhere = self._cluster.member_left(self.app_id, self.channel_id, user_id)
            if elsewhere is not None:
                self._remote[user_id] = elsewhere  # it moved to another node: still a member
        self._update_count()
        if rid and session is not None:
            tell_or_run_inline(session, chm.SendFrame(Reply(rid, LeaveChannelErr.OK)))
        if elsewhere is None and member_events_enabled(self._count() + 1):
            self._to_others(user_id, MemberLeft(0, self.channel_id, user_id))
        if not self._members:
            self._empty_since = now()
            # Only a member's publish reaches the duplicate check: with none left, the
            # ids remembered are dead weight for the empty channel's lifetime.
            self._published = RecentIds(PUBLISHED_IDS)

    def _list_members(self, session: MemberRef, user_id: str, rid: int) -> None:
        if user_id not in self._members:
            tell_or_run_inline(
                session, chm.SendFrame(MembersReply(rid, GetMembersErr.NOT_IN_CHANNEL))
            )
            return
        everyone = [*self._members, *self._remote]
        users = sample_members(everyone, GET_MEMBERS_LIMIT, random.shuffle)
        tell_or_run_inline(session, chm.SendFrame(MembersReply(rid, GetMembersErr.OK, users)))

    def _to_others(self, user_id: str, event: MemberEvent) -> None:
        yielder = Yielder()
        for member, session in list(self._members.items()):
            if member != user_id:
                tell_or_run_inline(session, chm.SendEvent(event))
                yielder.tick()

    # -- messages ----------------------------------------------------------------

    def _publish(self, p: chm.Publish) -> None:
        cluster = self._cluster
        if self._members.get(p.user_id) is not p.session:
            code = ChannelMessageErrCode.NOT_IN_CHANNEL
        elif cluster is not None and cluster.refuse_post():
            # Redis has been away so long that the queue nears its bound: refuse the
            # message (the sender can retry) rather than drop it later unseen.
            code = ChannelMessageErrCode.FAILURE
        else:
            code = ChannelMessageErrCode.OK
        tell_or_run_inline(p.session, chm.SendFrame(Reply(p.rid, code, p.ts if code == 0 else 0)))
        key = (p.user_id, p.message.id)
        if code != ChannelMessageErrCode.OK or key in self._published:
            return  # refused, or re-sent after a reconnect: published already
        self._published.put(key, True)
        if cluster is None:
            self._fan_out(p.user_id, p.message, p.ts)
        else:
            # To the channel's log (even with no other member now: one that is moving
            # between nodes catches up from it); every node with members reads it.
            cluster.post(self.app_id, self.channel_id, p.user_id, p.message, p.ts)

    def _fan_out(self, sender_id: str, message: WireMessage, ts: int) -> None:
        """Number the message (one node), and hand it to each local member."""
        self._cseq += 1
        self._deliver(self._cseq, sender_id, message, ts)

    def _logged(self, cseq: int, post: ChannelPost) -> None:
        """The channel log's next entry: numbered by its id on every node."""
        if self._cursor is not None and self._cursor.advance(cseq, post):
            self._deliver(cseq, post.sender_id, post.message, post.ts)

    def _deliver(self, cseq: int, sender_id: str, message: WireMessage, ts: int) -> None:
        """Encode the message once, and hand the bytes to each local member."""
        frame = ChannelMessage(self.channel_id, self.epoch, cseq, sender_id, message, ts)
        data = wsio.frame(codec.encode(frame))  # encoded once for every member
        self._recent.append(cseq, now(), sender_id, data)
        delivery = chm.SendBytes(self.channel_id, data)
        writes = self._writes
        channel_id = self.channel_id
        written = 0
        yielder = Yielder()
        for member, session in self._members.items():
            if member != sender_id:
                # Straight to the member's socket when that keeps the order its
                # session would keep (``MemberWriter.write``); else through the session.
                write = writes.get(member)
                if write is not None and write(channel_id, data):
                    written += 1
                else:
                    session.tell(delivery)
                yielder.tick()
        metrics = self._metrics
        if written and metrics is not None:
            metrics.frames_out[ChannelMessage] += written
            metrics.channel_deliveries += written

    def _replay(self, session: MemberRef, user_id: str, epoch: str, after: int) -> None:
        if epoch != self.epoch:
            return  # the channel was recreated since: nothing to replay
        if self._cursor is not None:
            self._replay_log(self._cursor, session, user_id, after)
            return
        for data in self._recent.since(after, now(), exclude_sender=user_id):
            tell_or_run_inline(session, chm.SendBytes(self.channel_id, data))

    def _replay_log(self, cursor: LogCursor, session: MemberRef, user_id: str, after: int) -> None:
        """Replay from the channel's log what followed ``after`` up to what this actor
        has fanned out (the rest reaches the member live, in order), so a member that
        was on another node catches up here too."""
        posts = cursor.since(after)
        self._log.debug(
            "channel_replay",
            user_id=user_id,
            after=after,
            upto=cursor.position,
            posts=len(posts),
        )
        oldest = int((time.time() - REPLAY_WINDOW_S) * 1000)
        for cseq, post in posts:
            if post.sender_id != user_id and post.ts >= oldest:
                frame = ChannelMessage(
                    self.channel_id, self.epoch, cseq, post.sender_id, post.message, post.ts
                )
                tell_or_run_inline(
                    session, chm.SendBytes(self.channel_id, wsio.frame(codec.encode(frame)))
                )

    # -- attributes ----------------------------------------------------------------

    def _plain_attributes(self) -> dict[str, str]:
        return {k: a.value for k, a in self._attributes.items()}

    def _write_attributes(self, w: chm.WriteAttributes) -> None:
        code, after = apply_write(
            self._plain_attributes(), w.op, w.attributes, w.keys, CHANNEL_LIMITS
        )
        if code is AttributeOperationErr.OK:
            self._attributes = {
                k: (
                    self._attributes[k]
                    if k in self._attributes
                    and self._attributes[k].value == v
                    and k not in w.attributes
                    else WireChannelAttribute(k, v, w.user_id, w.ts)
                )
                for k, v in after.items()
            }
        if code is AttributeOperationErr.OK and self._cluster is not None:
            stored = {
                k: StoredAttribute(a.value, a.user_id, a.ts) for k, a in self._attributes.items()
            }
            self._cluster.write_attributes(self.app_id, self.channel_id, stored, notify=w.notify)
        tell_or_run_inline(w.session, chm.SendFrame(Reply(w.rid, code)))
        if code is AttributeOperationErr.OK and w.notify:
            self._notify_attributes()

    def _notify_attributes(self) -> None:
        snapshot = list(self._attributes.values())
        self._to_others("", ChannelAttributesUpdated(0, self.channel_id, snapshot))

    # -- the other nodes -----------------------------------------------------------

    def _resync(self) -> None:
        if self._cluster is not None:
            for user_id in self._members:
                self._cluster.member_joined(self.app_id, self.channel_id, user_id)
            self._load_remote()

    def _load_remote(self) -> None:
        if self._cluster is not None:
            self._remote = self._cluster.remote_members(self.app_id, self.channel_id)
            self._load_attributes()

    def _load_attributes(self) -> None:
        if self._cluster is None:
            return
        stored = self._cluster.load_channel_attributes(self.app_id, self.channel_id)
        self._attributes = {
            k: WireChannelAttribute(k, a.value, a.user_id, a.ts) for k, a in stored.items()
        }

    def _remote_member(self, user_id: str, node: str, *, joined: bool) -> None:
        if user_id in self._members:
            return  # its session here speaks for it
        known = self._remote.get(user_id)
        if joined:
            self._remote[user_id] = node
            event: MemberEvent = MemberJoined(0, self.channel_id, user_id)
        elif known == node:
            del self._remote[user_id]
            event = MemberLeft(0, self.channel_id, user_id)
        else:
            return
        if known is None or not joined:
            count = self._count() + (0 if joined else 1)
            if self._members and member_events_enabled(count):
                self._to_others(user_id, event)

    # -- housekeeping ----------------------------------------------------------------

    def _count(self) -> int:
        return len(self._members) + len(self._remote)

    def _update_count(self) -> None:
        # This node's members (its metrics); counts across nodes come from Redis.
        self._registry.set_count(self.app_id, self.channel_id, len(self._members))

    def _tick(self) -> None:
        t = now()
        count = self._count()
        if self._members and self._pacer.due(count, t):
            frame = MemberCount(self.channel_id, count)
            for session in list(self._members.values()):
                tell_or_run_inline(session, chm.SendFrame(frame))
        if (
            self._empty_since is not None
            and t - self._empty_since >= self._config.empty_channel_ttl
        ):
            self._log.info("channel_stopped", reason="empty")
            self.stop()
            return
        self._timers.start("tick", self._config.channel_tick, chm.ChannelTick())

    def on_stop(self) -> None:
        self._timers.cancel_all()
        if self._cluster is not None and not self._remote:
            self._cluster.channel_emptied(self.app_id, self.channel_id)
        self._registry.forget(self.app_id, self.channel_id, self.actor_ref)


def start_channel(
    supervisor: pykka.ActorRef[Supervisor] | None,
    node: ChannelServices,
    app_id: str,
    channel_id: str,
) -> pykka.ActorRef[ChannelActor]:
    """Start a channel's actor under ``supervisor`` (typed: ``start_under`` takes any
    arguments)."""
    return ChannelActor.start_under(supervisor, node, app_id, channel_id)
