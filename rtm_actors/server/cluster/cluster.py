"""``Cluster``: what one node does so that many nodes on one Redis are one RTM system.

A node with a ``redis://`` store has one ``Cluster``; with ``memory`` or SQLite it has
none and every path stays local (no Redis, no extra hop). The server's actors call
it at the few points where a user or channel may span nodes: login (claim the user,
kick an older session elsewhere), presence, routing a peer message or invitation to
a user on another node, and channel membership, posts and attributes.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import TYPE_CHECKING, cast

import msgspec
import redis
import structlog
from redis.connection import parse_url

from rtm_actors.protocol.codes import PeerOnlineState
from rtm_actors.protocol.frames import WireMessage
from rtm_actors.runtime import tell_or_run_inline
from rtm_actors.runtime.redis_socket import gevent_redis
from rtm_actors.server import channel_messages as chm
from rtm_actors.server.cluster import envelopes as e
from rtm_actors.server.cluster.bans import ClusterBans
from rtm_actors.server.cluster.channel_log import LOG_MAX, ChannelLog, LogCursor, LogReader
from rtm_actors.server.cluster.inbound import dispatch
from rtm_actors.server.cluster.keys import Keys
from rtm_actors.server.cluster.liveness import Liveness
from rtm_actors.server.cluster.pubsub import Publisher, Subscriber
from rtm_actors.server.cluster.remote import RemoteUser
from rtm_actors.store import OfflinePolicy
from rtm_actors.store.base import Route, StoredAttribute
from rtm_actors.store.redis_routing import RedisMembershipStore, RedisRoutingStore
from rtm_actors.store.redis_store import (
    RedisChannelAttributeStore,
    RedisOfflineStore,
    RedisUserAttributeStore,
)

if TYPE_CHECKING:
    from rtm_actors.server.services import ClusterServices

log = structlog.get_logger("rtm_actors.server.cluster")
_encode_ban = msgspec.msgpack.Encoder().encode
_decode_ban = msgspec.msgpack.Decoder(tuple[str, str]).decode

UserKey = tuple[str, str]

#: Seconds a node trusts a cached route without asking Redis again. Routes change
#: only at login and logout, which every node hears on the presence topic, so the
#: cache is refreshed from there; the TTL bounds what a lost pub/sub message costs.
ROUTE_TTL = 5.0


class Cluster:
    """One node's share of the cluster: shared stores, pub/sub, heartbeats."""

    def __init__(
        self,
        url: str,
        heartbeat: float = 1.0,
        expiry: float = 3.0,
        policy: OfflinePolicy | None = None,
        node_id: str | None = None,
        assume_durable: bool = False,
        max_queued: int = 200_000,
    ) -> None:
        self.node_id = node_id or secrets.token_hex(6)
        self.url_hint = ""
        db = int(parse_url(url).get("db", 0))  # type: ignore[no-untyped-call]
        self.keys = Keys("rtm:", f"rtm:{db}:")
        self.client = gevent_redis(url)
        self._sub_client = gevent_redis(url, socket_timeout=None, max_connections=2)
        self.offline = RedisOfflineStore(self.client, policy)
        self._assume_durable = assume_durable
        self.user_attributes = RedisUserAttributeStore(self.client)
        self.channel_attributes = RedisChannelAttributeStore(self.client)
        self.routing = RedisRoutingStore(self.client)
        self.membership = RedisMembershipStore(self.client)
        self.publisher = Publisher(self.client, max_queued, stream_max=LOG_MAX)
        self.subscriber = Subscriber(self._sub_client, self._on_envelope, self.resync)
        self.channel_log = ChannelLog(self.client, self.keys.prefix)
        self._log_client = gevent_redis(url, socket_timeout=None, max_connections=2)
        self.log_reader = LogReader(
            self._log_client,
            self.client,
            self.keys.node(self.node_id) + ":wake",
            self._on_log_entry,
            self._on_log_gap,
        )
        #: stream key -> (app id, channel id) of the channel logs this node reads.
        self._logs: dict[str, tuple[str, str]] = {}
        #: Numbers this node's channel posts (``channel_log.FirstSeen``).
        self._post_seq = itertools.count(1)
        #: Channel log entries trimmed before this node read them (a metric).
        self.log_gaps = 0
        #: Channel messages refused because the publish queue was half full (a metric).
        self.refused_posts = 0
        self.liveness = Liveness(self, heartbeat, expiry)
        #: The node's ban set: its changes reach every node, and it follows theirs.
        self.bans = ClusterBans(self)
        #: What this node's actors are reached through (set at ``start``).
        self._node: ClusterServices | None = None
        #: (app id, user id) -> (node, trusted until): saves a Redis round trip per message.
        self._routes: dict[UserKey, tuple[str, float]] = {}
        #: (app, channel, user) of every member through this node (to rebuild Redis).
        self._members: set[tuple[str, str, str]] = set()
        #: Envelopes received from other nodes (a metric).
        self.received = 0

    # -- lifecycle ---------------------------------------------------------------

    def start(self, node: ClusterServices, url_hint: str = "") -> None:
        """Join the cluster: subscribe, register the node, start beating."""
        self._node = node
        self.url_hint = url_hint or self.node_id
        banned = cast(set[bytes], self.client.smembers(self.keys.bans))
        for raw in banned:
            self.bans.apply(_decode_ban(raw), banned=True)
        self.check_durability()
        self.publisher.start()
        self.log_reader.start()
        self.subscriber.start([self.keys.inbox(self.node_id), self.keys.presence])
        self.liveness.start()
        log.info("node_joined_cluster", node=self.node_id, url=url_hint)

    def check_durability(self) -> None:
        """Read whether Redis keeps offline messages across its restart; say so when
        that changes (at start, and whenever Redis comes back: it may have been
        restarted with other settings)."""
        before = self.offline.durability
        durability = self.offline.check(self._assume_durable)
        if before is not None and before.detail == durability.detail:
            return
        if durability.durable:
            log.info("offline_store_durable", node=self.node_id, redis=durability.detail)
        elif self.offline.accepts_offline:
            log.warning(
                "offline_store_assumed_durable",
                node=self.node_id,
                redis=durability.detail,
                effect="a Redis restart loses offline messages answered CACHED_BY_SERVER",
            )
        else:
            log.warning(
                "offline_store_volatile",
                node=self.node_id,
                redis=durability.detail,
                effect="offline messages are refused (PEER_UNREACHABLE): turn on appendonly "
                "or set assume_redis_durable",
            )

    def listening(self, url: str) -> None:
        """The node listens on ``url`` now: show it in the node's heartbeat key."""
        self.url_hint = url
        self.liveness.beat()

    def stop(self) -> None:
        """Leave: clean up what this node still holds, stop beating and reading."""
        self.publisher.flush()
        self.liveness.stop()
        try:
            self.reap(self.node_id)
            self.client.delete(self.keys.node(self.node_id))
        except redis.RedisError as exc:
            log.warning("node_leave_failed", node=self.node_id, error=str(exc))
        self.publisher.flush()
        self.publisher.stop()
        self.subscriber.stop()
        self.log_reader.stop()
        self.client.close()
        self._sub_client.close()
        self._log_client.close()
        log.info("node_left_cluster", node=self.node_id)

    # -- users -------------------------------------------------------------------

    def claim(self, key: UserKey, session_key: str) -> None:
        """A login here takes the user; an older session on another node is kicked."""
        route = Route(self.node_id, session_key, int(PeerOnlineState.ONLINE))
        old = self.routing.claim(key[0], key[1], route)
        if old is not None and old.node != self.node_id:
            kick = e.KickUser(key[0], key[1], old.session_key, 0, self.node_id)
            self.to_node(old.node, kick)

    def remote_ref(self, key: UserKey) -> RemoteUser | None:
        """The user's session on another node, if it is logged in elsewhere."""
        node = self.locate(key)
        if node is None or node == self.node_id:
            return None
        return RemoteUser(self, node, key[0], key[1])

    def locate(self, key: UserKey, *, fresh: bool = False) -> str | None:
        """The node holding the user's session (cached; ``fresh`` asks Redis)."""
        cached = self._routes.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now and not fresh:
            return cached[0]
        try:
            route = self.routing.locate(key[0], [key[1]]).get(key[1])
        except redis.RedisError:
            if cached is None or fresh:
                raise
            # Redis is away: the last known route is the best guess (a message sent
            # there waits in the publish queue, and its receipt says what became of it).
            return cached[0]
        if route is None:
            self._routes.pop(key, None)
            return None
        self.route_changed(key, route.node)
        return route.node

    def route_changed(self, key: UserKey, node: str | None) -> None:
        """A user logged in on ``node`` (or, with None, logged out)."""
        if node is None:
            self._routes.pop(key, None)
            return
        if len(self._routes) >= 200_000:
            self._routes.clear()
        self._routes[key] = (node, time.monotonic() + ROUTE_TTL)

    def set_presence(self, key: UserKey, session_key: str, state: PeerOnlineState) -> bool:
        """Record a session's user's state (OFFLINE releases it) and tell every node;
        answer False if another session owns the user now (nothing changes)."""
        app_id, user_id = key
        if state is PeerOnlineState.OFFLINE:
            owned = self.routing.release(app_id, user_id, self.node_id, session_key)
        else:
            owned = self.routing.set_state(app_id, user_id, self.node_id, session_key, state)
        if owned:
            change = e.PresenceChange(app_id, user_id, state, self.node_id)
            self.publisher.publish(self.keys.presence, change)
        return owned

    def states(self, app_id: str, user_ids: list[str]) -> dict[str, PeerOnlineState]:
        """Users' states across the cluster (OFFLINE if logged in nowhere)."""
        routes = self.routing.locate(app_id, list(dict.fromkeys(user_ids)))
        return {
            u: PeerOnlineState(routes[u].state) if u in routes else PeerOnlineState.OFFLINE
            for u in user_ids
        }

    def ban_changed(self, key: UserKey, *, banned: bool) -> None:
        """An operator (un)banned a user through this node: record it, tell every node."""
        if banned:
            self.client.sadd(self.keys.bans, _encode_ban(key))
        else:
            self.client.srem(self.keys.bans, _encode_ban(key))
        change = e.BanChange(self.node_id, key[0], key[1], banned)
        self.publisher.publish(self.keys.presence, change)

    # -- channels ----------------------------------------------------------------

    def channel_opened(self, app_id: str, channel_id: str) -> None:
        """A channel actor started here: receive the channel's traffic."""
        self.subscriber.subscribe(self.keys.channel(app_id, channel_id))

    def channel_closed(self, app_id: str, channel_id: str) -> None:
        """The channel actor here stopped."""
        self.subscriber.unsubscribe(self.keys.channel(app_id, channel_id))
        key = self.channel_log.key(app_id, channel_id)
        self._logs.pop(key, None)
        self.log_reader.unfollow(key)

    def follow_log(self, app_id: str, channel_id: str) -> LogCursor:
        """A channel actor starts here: read the channel's log from its newest entry
        on; the actor's cursor starts there."""
        key = self.channel_log.key(app_id, channel_id)
        tail = self.channel_log.tail(app_id, channel_id)
        self._logs[key] = (app_id, channel_id)
        self.log_reader.follow(key, tail)
        return LogCursor(self.channel_log, app_id, channel_id, tail)

    def remote_members(self, app_id: str, channel_id: str) -> dict[str, str]:
        """Members through other nodes: user id -> node."""
        members = self.membership.members(app_id, channel_id)
        return {u: n for u, n in members.items() if n != self.node_id}

    def member_joined(self, app_id: str, channel_id: str, user_id: str) -> None:
        """A member joined through this node: record it and tell the others."""
        self._members.add((app_id, channel_id, user_id))
        self.membership.join(app_id, channel_id, user_id, self.node_id)
        self._member_change(app_id, channel_id, user_id, joined=True)

    def member_left(self, app_id: str, channel_id: str, user_id: str) -> str | None:
        """A member's session here left: record it and tell the others. If the user
        is a member through another node now (it logged in there), answer that node."""
        self._members.discard((app_id, channel_id, user_id))
        if self.membership.leave(app_id, channel_id, user_id, self.node_id):
            self._member_change(app_id, channel_id, user_id, joined=False)
            return None
        return self.membership.members(app_id, channel_id).get(user_id)

    def _member_change(self, app_id: str, channel_id: str, user_id: str, *, joined: bool) -> None:
        change = e.MemberChange(self.node_id, app_id, channel_id, user_id, self.node_id, joined)
        self.publisher.publish(self.keys.channel(app_id, channel_id), change)

    def refuse_post(self) -> bool:
        """Whether a channel message must be refused now (and is counted so): Redis has
        been away so long that the publish queue nears its bound, and the sender can
        retry, where a message taken now could be dropped later unseen."""
        if self.publisher.backlogged:
            self.refused_posts += 1
            return True
        return False

    def load_channel_attributes(self, app_id: str, channel_id: str) -> dict[str, StoredAttribute]:
        """A channel's attributes as the last node that wrote them left them."""
        return self.channel_attributes.get(app_id, channel_id)

    def post(self, app_id: str, channel_id: str, sender_id: str, msg: WireMessage, ts: int) -> None:
        """A channel message published here: appended to the channel's log, from which
        every node with members (this one too) fans it out."""
        seq = next(self._post_seq)
        post = e.ChannelPost(self.node_id, app_id, channel_id, sender_id, msg, ts, seq)
        self.publisher.append(self.channel_log.key(app_id, channel_id), post)

    def write_attributes(
        self, app_id: str, channel_id: str, attributes: dict[str, StoredAttribute], *, notify: bool
    ) -> None:
        """Channel attributes written here: store them and tell the other nodes."""
        self.channel_attributes.put(app_id, channel_id, attributes)
        change = e.AttributesChanged(self.node_id, app_id, channel_id, notify)
        self.publisher.publish(self.keys.channel(app_id, channel_id), change)

    def channel_emptied(self, app_id: str, channel_id: str) -> None:
        """The last actor of a channel stops: its attributes go, as on one node."""
        try:
            if not self.membership.counts(app_id, [channel_id])[channel_id]:
                self.channel_attributes.put(app_id, channel_id, {})
                self.channel_log.delete(app_id, channel_id)
        except redis.RedisError as exc:
            log.warning("channel_cleanup_failed", channel=channel_id, error=str(exc))

    def counts(self, app_id: str, channel_ids: list[str]) -> dict[str, int]:
        """Member counts across the cluster."""
        return self.membership.counts(app_id, channel_ids)

    # -- plumbing ----------------------------------------------------------------

    def to_node(self, node: str, envelope: e.AnyEnvelope) -> None:
        """Send an envelope to another node's inbox."""
        self.publisher.publish(self.keys.inbox(node), envelope)

    @property
    def healthy(self) -> bool:
        """This node reached Redis at its last heartbeat."""
        return self.liveness.healthy

    def _on_log_entry(self, key: str, cseq: int, post: e.ChannelPost) -> None:
        self._to_log_follower(key, chm.LogPost(cseq, post))

    def _on_log_gap(self, key: str) -> None:
        self.log_gaps += 1
        self._to_log_follower(key, chm.LogGap())

    def _to_log_follower(self, key: str, message: chm.LogPost | chm.LogGap) -> None:
        """Tell the channel actor here that reads the log ``key``."""
        channel = self._logs.get(key)
        node = self._node
        ref = node.channels.get(*channel) if channel and node is not None else None
        if ref is not None:
            tell_or_run_inline(ref, message)

    def _on_envelope(self, envelope: e.AnyEnvelope) -> None:
        self.received += 1
        if self._node is not None:
            dispatch(self, self._node, envelope)

    def reap(self, node: str) -> None:
        """Node ``node`` is gone: its users go offline and leave their channels."""
        users = self.routing.drop_node(node)
        for app_id, user_id in users:
            self.user_attributes.put(app_id, user_id, {})
            offline = e.PresenceChange(app_id, user_id, int(PeerOnlineState.OFFLINE))
            self.publisher.publish(self.keys.presence, offline)
        members = self.membership.drop_node(node)
        for app_id, channel_id, user_id in members:
            change = e.MemberChange(node, app_id, channel_id, user_id, node, joined=False)
            self.publisher.publish(self.keys.channel(app_id, channel_id), change)
        self.client.srem(self.keys.nodes, node)
        self.client.delete(self.keys.node(node) + ":wake")
        if node != self.node_id or users or members:
            log.info(
                "node_reaped", node=node, by=self.node_id, users=len(users), members=len(members)
            )

    def resync(self) -> None:
        """Make Redis hold exactly what this node holds (after Redis came back or lost
        its data): users and members it lost are registered again, and what it
        registered for sessions or members that ended meanwhile is removed."""
        node = self._node
        if node is None:
            return
        self.check_durability()
        self.liveness.beat()
        local = dict(node.directory.items())
        stale = 0
        for (app_id, user_id), route in self.routing.owned_by(self.node_id).items():
            entry = local.get((app_id, user_id))
            if entry is None or entry.session_key != route.session_key:
                self.set_presence((app_id, user_id), route.session_key, PeerOnlineState.OFFLINE)
                stale += 1
        reclaimed = 0
        for (app_id, user_id), entry in local.items():
            holder = self.routing.locate(app_id, [user_id]).get(user_id)
            if holder is None or holder.node == self.node_id:
                self.claim((app_id, user_id), entry.session_key)
                online = int(PeerOnlineState.ONLINE)
                state = e.PresenceChange(app_id, user_id, online, self.node_id)
                self.publisher.publish(self.keys.presence, state)
                reclaimed += 1
        for app_id, channel_id, user_id in self.membership.drop_node(self.node_id, self._members):
            self._member_change(app_id, channel_id, user_id, joined=False)
            stale += 1
        for ref in node.channels.actors():
            tell_or_run_inline(ref, chm.Resync())
        log.info("node_registered_again", node=self.node_id, users=reclaimed, stale=stale)
