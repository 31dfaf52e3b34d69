"""Redis pub/sub for one node: a batching publisher and a subscriber greenlet.

``Publisher.publish`` never blocks and never touches the network: it queues the
envelope, and one greenlet sends what has queued up, one PUBLISH per topic per
round, all in one pipeline. Actors on hot paths therefore never wait for Redis, and
under load a round carries many envelopes per command (RUNTIME-NOTES: redis-py does
~8k unpipelined commands/s but ~86k/s in pipelines).

The same rounds append channel posts to their channel's log stream (``append``: one
``XADD`` per post, so each gets its own entry id), in the order they were queued.

``Subscriber`` reads in its own greenlet on a gevent socket, so the hub keeps
running while it waits. Both retry with backoff while Redis is away; the subscriber
subscribes again to every topic when it is back and reports the outage so the node
can register again what Redis may have lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import redis
import structlog

from rtm_actors.server.cluster.envelopes import AnyEnvelope, decode_batch, encode_batch, encode_one

log = structlog.get_logger("rtm_actors.server.cluster")

#: Envelopes one publishing round sends at most.
ROUND = 2000


class Backoff:
    """Exponential backoff with a cap: 50 ms, 100 ms, ... up to ``cap`` seconds."""

    def __init__(self, first: float = 0.05, cap: float = 2.0) -> None:
        self.first = first
        self.cap = cap
        self.delay = first

    def sleep(self) -> None:
        """Wait the current delay (other greenlets run), then double it."""
        gevent.sleep(self.delay)
        self.delay = min(self.cap, self.delay * 2)

    def reset(self) -> None:
        """Back to the shortest delay after a success."""
        self.delay = self.first


class Publisher:
    """Queues envelopes by topic and publishes them in batches from one greenlet."""

    def __init__(self, client: Any, max_queued: int = 200_000, stream_max: int = 10_000) -> None:
        self._r = client
        #: (topic or stream key, envelope, whether it is appended to a stream).
        self._queue: deque[tuple[str, AnyEnvelope, bool]] = deque()
        self._stream_max = stream_max
        self._wake = gevent.event.Event()
        self._max_queued = max_queued
        self._greenlet: gevent.Greenlet[Any, Any] | None = None
        self.published = 0
        self.dropped = 0

    @property
    def queued(self) -> int:
        """Envelopes waiting to be sent."""
        return len(self._queue)

    def start(self) -> None:
        """Start the publishing greenlet."""
        self._greenlet = gevent.spawn(self._run)

    @property
    def backlogged(self) -> bool:
        """Half the bound is queued (Redis has been away long): channel posts are
        refused from here on, so that the bound never drops one silently."""
        return len(self._queue) * 2 >= self._max_queued

    def publish(self, topic: str, envelope: AnyEnvelope) -> None:
        """Queue ``envelope`` for ``topic`` (sent within one round trip, in order)."""
        self._put(topic, envelope, stream=False)

    def append(self, stream: str, envelope: AnyEnvelope) -> None:
        """Queue ``envelope`` to be appended to ``stream`` (capped, approximately, at
        ``stream_max`` entries), in order with everything queued before it."""
        self._put(stream, envelope, stream=True)

    def _put(self, target: str, envelope: AnyEnvelope, *, stream: bool) -> None:
        if len(self._queue) >= self._max_queued:
            # Redis has been away too long: drop the oldest rather than grow forever.
            self._queue.popleft()
            self.dropped += 1
        self._queue.append((target, envelope, stream))
        self._wake.set()

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (up to ``timeout``) until everything queued has been sent."""
        with gevent.Timeout(timeout, False):  # type: ignore[arg-type]
            while self._queue:
                gevent.sleep(0.005)

    def stop(self) -> None:
        """Stop publishing (call ``flush`` first to send what is queued)."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def _run(self) -> None:
        backoff = Backoff()
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch: dict[str, list[AnyEnvelope]] = {}
                appends: list[tuple[str, AnyEnvelope]] = []
                taken = 0
                for target, envelope, stream in self._queue:
                    if stream:
                        appends.append((target, envelope))
                    else:
                        batch.setdefault(target, []).append(envelope)
                    taken += 1
                    if taken >= ROUND:
                        break
                try:
                    pipe = self._r.pipeline(transaction=False)
                    for topic, envelopes in batch.items():
                        pipe.publish(topic, encode_batch(envelopes))
                    for key, envelope in appends:
                        fields = {"e": encode_one(envelope)}
                        pipe.xadd(key, fields, maxlen=self._stream_max, approximate=True)
                    pipe.execute()
                except redis.RedisError as exc:
                    log.warning("publish_failed", error=str(exc), queued=len(self._queue))
                    backoff.sleep()
                    continue
                backoff.reset()
                for _ in range(taken):
                    self._queue.popleft()
                self.published += taken


class Subscriber:
    """One pub/sub connection, read in a greenlet; topics come and go at run time."""

    def __init__(
        self,
        client: Any,
        on_envelope: Callable[[AnyEnvelope], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        self._r = client
        self._on_envelope = on_envelope
        self._on_reconnect = on_reconnect
        self._topics: set[str] = set()
        self._pubsub: Any = None
        self._greenlet: gevent.Greenlet[Any, Any] | None = None
        self._ready = gevent.event.Event()

    def start(self, topics: list[str]) -> None:
        """Subscribe to ``topics`` and start reading; return once subscribed."""
        self._topics.update(topics)
        self._greenlet = gevent.spawn(self._run)
        self._ready.wait(5.0)

    def subscribe(self, topic: str) -> None:
        """Start receiving ``topic`` (sent at once; kept across reconnects)."""
        if topic in self._topics:
            return
        self._topics.add(topic)
        self._send("subscribe", topic)

    def unsubscribe(self, topic: str) -> None:
        """Stop receiving ``topic``."""
        if topic in self._topics:
            self._topics.discard(topic)
            self._send("unsubscribe", topic)

    def stop(self) -> None:
        """Stop reading and close the connection."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None
        if self._pubsub is not None:
            self._pubsub.close()
            self._pubsub = None

    def _send(self, command: str, topic: str) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return  # (re)connecting: it subscribes to every topic once connected
        try:
            getattr(pubsub, command)(topic)
        except (redis.RedisError, OSError) as exc:
            log.warning("subscribe_failed", command=command, topic=topic, error=str(exc))

    def _connect(self) -> None:
        pubsub = self._r.pubsub(ignore_subscribe_messages=True)
        if self._topics:
            pubsub.subscribe(*self._topics)
        self._pubsub = pubsub

    def _run(self) -> None:
        backoff = Backoff()
        lost = False
        while True:
            try:
                self._connect()
                if lost:
                    log.info("pubsub_reconnected", topics=len(self._topics))
                    self._on_reconnect()
                self._ready.set()
                backoff.reset()
                lost = False
                self._read()
            except (redis.RedisError, OSError) as exc:
                if not lost:
                    log.warning("pubsub_lost", error=str(exc))
                lost = True
                if self._pubsub is not None:
                    self._pubsub.close()
                    self._pubsub = None
                backoff.sleep()

    def _read(self) -> None:
        pubsub = self._pubsub
        while True:
            message = pubsub.get_message(timeout=5.0)
            if message is None or message.get("type") != "message":
                continue
            try:
                envelopes = decode_batch(message["data"])
            except ValueError as exc:
                log.warning("bad_envelope", topic=message.get("channel"), error=str(exc))
                continue
            for envelope in envelopes:
                try:
                    self._on_envelope(envelope)
                except Exception:  # one bad envelope must not stop the node
                    log.exception("envelope_failed", kind=type(envelope).__name__)
            gevent.sleep(0)
