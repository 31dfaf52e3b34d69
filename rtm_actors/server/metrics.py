"""A node's event counts and request latencies, kept where the events happen.

Plain ints and ``Counter``s, no locks: every actor and gateway greenlet of a node
runs on one OS thread, and greenlets switch only at IO. Nothing here knows about
Prometheus; ``server.prometheus`` turns it (and the live ``ServerContext``) into
metric families when scraped. Counting costs one dict increment per frame.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from typing import Any

from rtm_actors.protocol.frames import (
    AttributesReply,
    ChannelAttributesReply,
    CountsReply,
    JoinReply,
    MembersReply,
    PeersReply,
    PresenceReply,
    Reply,
    SendPeerMessage,
)

#: Upper bounds of the latency buckets, in seconds (Prometheus ``le``).
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

#: Frames that answer a request (they carry its ``rid`` and a result ``code``).
REPLY_TYPES = frozenset(
    {
        Reply,
        PresenceReply,
        PeersReply,
        AttributesReply,
        JoinReply,
        MembersReply,
        CountsReply,
        ChannelAttributesReply,
    }
)
#: Non-zero result codes that are successes: a peer message kept for an offline peer.
_SUCCESS_CODES = frozenset({(SendPeerMessage, 4)})
#: Requests a session remembers the start of; a client that never gets answers
#: (or sends ids that are never answered) cannot make it grow past this.
_MAX_OPEN_REQUESTS = 4096


class LatencyHistogram:
    """Counts per bucket and the sum, as a Prometheus histogram needs them."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last is +Inf
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        """Count one duration."""
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        """How many durations were counted."""
        return sum(self.counts)


class ServerMetrics:
    """One node's event counts (``ServerStats`` keeps the older scalar ones)."""

    def __init__(self) -> None:
        #: Client frames received, by frame class.
        self.frames_in: Counter[type] = Counter()
        #: Server frames sent, by frame class (channel fan-out counts each member).
        self.frames_out: Counter[type] = Counter()
        #: Channel messages written to members.
        self.channel_deliveries = 0
        #: Invitations that ended, by outcome (accepted, refused, canceled, failed).
        self.invitations: Counter[str] = Counter()
        #: Failed requests, by (request frame class, result code).
        self.request_errors: Counter[tuple[type, int]] = Counter()
        #: Sessions that ended, by why (logout, grace_expired, shutdown, ...).
        self.sessions_ended: Counter[str] = Counter()
        #: Websockets lost while the session went on, by why (idle timeout, ...).
        self.links_lost: Counter[str] = Counter()
        #: Supervisor events (``crashed``).
        self.actor_events: Counter[str] = Counter()
        #: Request durations, by request frame class (or "login").
        self.latency: dict[Any, LatencyHistogram] = {}
        self.started_at = time.time()

    def observe(self, kind: Any, seconds: float) -> None:
        """Count one request's duration."""
        histogram = self.latency.get(kind)
        if histogram is None:
            histogram = self.latency[kind] = LatencyHistogram()
        histogram.observe(seconds)

    def actor_event(self, event: str, child: str) -> None:
        """A supervisor's report: a child ``crashed``."""
        self.actor_events[event] += 1


class RequestClock:
    """One session's requests in progress: when each came in, to time its reply."""

    __slots__ = ("_metrics", "_open")

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics
        self._open: dict[int, tuple[type, float]] = {}

    def received(self, frame: Any, at: float) -> None:
        """A client frame arrived (``at``: ``time.perf_counter()`` when it was read)."""
        kind = type(frame)
        self._metrics.frames_in[kind] += 1
        rid = getattr(frame, "rid", None)
        if rid is not None and at:
            if len(self._open) >= _MAX_OPEN_REQUESTS:
                self._open.clear()
            self._open[rid] = (kind, at)

    def sent(self, frame: Any) -> None:
        """A server frame goes out; a reply ends its request's clock."""
        kind = type(frame)
        metrics = self._metrics
        metrics.frames_out[kind] += 1
        if kind in REPLY_TYPES:
            started = self._open.pop(frame.rid, None)
            if started is None:
                return
            request, at = started
            metrics.observe(request, time.perf_counter() - at)
            code = frame.code
            if code and (request, code) not in _SUCCESS_CODES:
                metrics.request_errors[(request, code)] += 1
