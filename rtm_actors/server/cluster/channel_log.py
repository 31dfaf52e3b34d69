"""Each channel's log in Redis: a capped stream that gives its posts one cluster-wide order.

A channel message posted on any node is appended (``XADD``, by the node's publisher)
to ``rtm:chlog:{app}:{channel}``; every node with an actor for the channel reads the
stream (``LogReader``, one ``XREAD BLOCK`` over all its channels) from the last entry
it handled and fans each entry out to its own members, the origin node included. So:

- the entry id is the message's number (``cseq``) on every node, and the epoch is
  the same everywhere (``CLUSTER_EPOCH``): a member that moves to another node presents
  its position there and is replayed what followed (``ChannelLog.since``);
- a node cut off from Redis reads on from its last entry when Redis is back, and a
  post queued while Redis was away is appended then: nothing is lost to pub/sub's
  at-most-once delivery. Only trimming past ``MAXLEN`` can drop entries a node had
  not read yet; the reader notices (``max-deleted-entry-id`` passed its position)
  and reports the gap.

Entry ids ``<ms>-<n>`` map to one integer, ``ms << 20 | n`` (n stays far below 2**20:
it counts entries within one millisecond), so the client's (epoch, cseq) cursor and
its de-duplication work unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import gevent
import msgspec
import redis
import structlog

from rtm_actors.server.cluster.envelopes import ChannelPost
from rtm_actors.server.cluster.pubsub import Backoff

log = structlog.get_logger("rtm_actors.server.cluster")

#: The epoch of every channel in a cluster: numbers come from the stream's entry ids,
#: which only grow (even across a Redis restart that lost the stream: they are times).
CLUSTER_EPOCH = "log"
#: Entries kept per channel (approximately: ``XADD MAXLEN ~``).
LOG_MAX = 10_000
#: Entries one read takes per channel at most.
READ_COUNT = 1000
#: Messages a member catching up is replayed at most (one node keeps 32 in memory;
#: the log can give more: enough for a Redis outage of 10 s at 50 messages/s, after
#: which the members' links, dropped meanwhile, resume all at once).
REPLAY_LIMIT = 500
#: Entries read before the replayed ones, to recognise a copy of an older post.
_LOOKBACK = 100

decode_post = msgspec.msgpack.Decoder(ChannelPost).decode

_SEQ_BITS = 20


def cseq_of(entry_id: bytes | str) -> int:
    """The channel sequence number of a stream entry id."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, n = text.partition("-")
    return int(ms) << _SEQ_BITS | int(n or 0)


def entry_id_of(cseq: int) -> str:
    """The stream entry id of a channel sequence number."""
    return f"{cseq >> _SEQ_BITS}-{cseq & ((1 << _SEQ_BITS) - 1)}"


class FirstSeen:
    """Drops the second copy of a post appended twice (a pipeline that failed half-way
    is sent again): each node numbers its posts, and a channel's log holds a node's
    posts in that order, so a number not above the last one seen is a copy."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def first(self, post: ChannelPost) -> bool:
        """Whether ``post`` is the first copy seen (and remember it)."""
        if post.seq <= self._last.get(post.origin, 0):
            return False
        self._last[post.origin] = post.seq
        return True


class LogCursor:
    """A channel actor's place in its channel's log: what it fanned out so far."""

    __slots__ = ("_log", "_seen", "app_id", "channel_id", "epoch", "position")

    def __init__(self, log: ChannelLog, app_id: str, channel_id: str, position: int) -> None:
        self._log = log
        self._seen = FirstSeen()
        self.app_id = app_id
        self.channel_id = channel_id
        self.epoch = CLUSTER_EPOCH
        self.position = position

    def advance(self, cseq: int, post: ChannelPost) -> bool:
        """Entry ``cseq`` is read: whether to fan it out (not handled yet, not a copy)."""
        if cseq <= self.position:
            return False  # handled already (the reader started before the actor did)
        self.position = cseq
        return self._seen.first(post)

    def since(self, after: int, limit: int = REPLAY_LIMIT) -> list[tuple[int, ChannelPost]]:
        """What followed ``after`` up to this cursor (nothing if Redis is away)."""
        try:
            return self._log.since(self.app_id, self.channel_id, after, self.position, limit)
        except redis.RedisError as exc:
            log.warning("channel_replay_failed", channel=self.channel_id, error=str(exc))
            return []


class ChannelLog:
    """Reads of the channel logs (appends go through the node's publisher)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._r = client
        self._prefix = prefix

    def key(self, app_id: str, channel_id: str) -> str:
        """The channel's log stream."""
        return f"{self._prefix}chlog:{app_id}:{channel_id}"

    def tail(self, app_id: str, channel_id: str) -> int:
        """The number of the channel's newest entry (0 for an empty log)."""
        newest = self._r.xrevrange(self.key(app_id, channel_id), count=1)
        return cseq_of(newest[0][0]) if newest else 0

    def since(
        self, app_id: str, channel_id: str, after: int, upto: int, limit: int
    ) -> list[tuple[int, ChannelPost]]:
        """The last ``limit`` posts numbered in (``after``, ``upto``], oldest first, each
        once (reading a few before them, so a copy of an older post is known)."""
        if upto <= after:
            return []
        key = self.key(app_id, channel_id)
        raw = self._r.xrevrange(key, entry_id_of(upto), count=limit + _LOOKBACK)
        seen = FirstSeen()
        posts = []
        for entry_id, fields in reversed(raw):
            post = decode_post(fields[b"e"])
            if seen.first(post) and (cseq := cseq_of(entry_id)) > after:
                posts.append((cseq, post))
        return posts[-limit:]

    def delete(self, app_id: str, channel_id: str) -> None:
        """The channel is gone everywhere: drop its log."""
        self._r.delete(self.key(app_id, channel_id))


class LogReader:
    """One greenlet reading every channel log a node follows, from where it left off.

    ``on_entry(key, cseq, post)`` runs in the reader greenlet for each entry in order;
    ``on_gap(key)`` when entries it had not read were trimmed away.
    """

    def __init__(
        self,
        client: Any,
        waker: Any,
        wake_key: str,
        on_entry: Callable[[str, int, ChannelPost], None],
        on_gap: Callable[[str], None],
    ) -> None:
        self._r = client  # its own connection: a read blocks it
        self._waker = waker
        self._wake_key = wake_key
        self._on_entry = on_entry
        self._on_gap = on_gap
        #: stream key -> the last entry id handled.
        self._positions: dict[str, str] = {}
        self._greenlet: gevent.Greenlet[Any, Any] | None = None

    def start(self) -> None:
        """Start reading."""
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop reading."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def follow(self, key: str, after: int) -> None:
        """Read ``key`` from after entry number ``after`` on."""
        self._positions[key] = entry_id_of(after)
        # Wakes a read blocked on the old key list; if Redis is away, the reader is
        # reconnecting and reads every followed key then.
        with contextlib.suppress(redis.RedisError):
            self._waker.xadd(self._wake_key, {"w": 1}, maxlen=1)

    def unfollow(self, key: str) -> None:
        """Stop reading ``key``."""
        self._positions.pop(key, None)

    def _run(self) -> None:
        backoff = Backoff()
        lost = False
        while True:
            try:
                if lost:
                    self._check_gaps(list(self._positions))
                    lost = False
                self._read()
                backoff.reset()
            except (redis.RedisError, OSError) as exc:
                if not lost:
                    log.warning("channel_log_read_failed", error=str(exc))
                lost = True
                backoff.sleep()

    def _read(self) -> None:
        streams: dict[str, str] = {self._wake_key: "$", **self._positions}
        answer = self._r.xread(streams, count=READ_COUNT, block=1000)
        full = []
        for raw_key, entries in answer or []:
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            if key == self._wake_key or key not in self._positions:
                continue
            for entry_id, fields in entries:
                self._positions[key] = entry_id.decode()
                try:
                    self._on_entry(key, cseq_of(entry_id), decode_post(fields[b"e"]))
                except Exception:  # one bad entry must not stop the node's channels
                    log.exception("channel_log_entry_failed", stream=key)
            if len(entries) >= READ_COUNT:
                full.append(key)  # behind: the writers may be trimming what is next
            gevent.sleep(0)
        self._check_gaps(full)

    def _check_gaps(self, keys: list[str]) -> None:
        for key in keys:
            position = self._positions.get(key)
            if position is None:
                continue
            try:
                info = self._r.xinfo_stream(key)
            except redis.ResponseError:
                continue  # no such stream (yet, or any more)
            deleted = info.get("max-deleted-entry-id") or b"0-0"
            if cseq_of(deleted) > cseq_of(position):
                log.warning("channel_log_gap", stream=key, position=position, trimmed=deleted)
                self._on_gap(key)
