"""Prometheus metrics of one node, read from its live ``ServerContext`` at scrape time.

Each ``RtmServer`` has its own ``CollectorRegistry`` holding one ``NodeCollector``,
so several servers in one process (tests, embedding) never share figures. Gauges
(users online, channels, stored messages) are computed from the context when
scraped; counters and latency histograms come from ``ServerStats`` and
``ServerMetrics``, which the server updates where the events happen.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from rtm_actors.protocol import frames as f
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    ChannelMessageErrCode,
    DisconnectCode,
    GetChannelMemberCountErrCode,
    GetMembersErr,
    InvitationApiCallErrCode,
    JoinChannelErr,
    LeaveChannelErr,
    LoginErrCode,
    LogoutErrCode,
    PeerMessageErrCode,
    PeerSubscriptionStatusErr,
    QueryPeersBySubscriptionOptionErr,
    QueryPeersOnlineStatusErr,
    RenewTokenErrCode,
)
from rtm_actors.runtime.actor import LOOP_GREENLETS
from rtm_actors.server.invitation_actor import invitations_in_flight
from rtm_actors.server.metrics import LATENCY_BUCKETS, LatencyHistogram

__all__ = ["NodeCollector", "node_registry", "render"]

#: The Agora error enum of each request, to name its result codes.
_CODES: dict[type, type[IntEnum]] = {
    f.Login: LoginErrCode,
    f.Logout: LogoutErrCode,
    f.RenewToken: RenewTokenErrCode,
    f.SendPeerMessage: PeerMessageErrCode,
    f.QueryPresence: QueryPeersOnlineStatusErr,
    f.Subscribe: PeerSubscriptionStatusErr,
    f.Unsubscribe: PeerSubscriptionStatusErr,
    f.QuerySubscriptions: QueryPeersBySubscriptionOptionErr,
    f.SetLocalAttributes: AttributeOperationErr,
    f.AddOrUpdateLocalAttributes: AttributeOperationErr,
    f.DeleteLocalAttributes: AttributeOperationErr,
    f.ClearLocalAttributes: AttributeOperationErr,
    f.GetUserAttributes: AttributeOperationErr,
    f.ChannelAttributesWrite: AttributeOperationErr,
    f.GetChannelAttributes: AttributeOperationErr,
    f.JoinChannel: JoinChannelErr,
    f.LeaveChannel: LeaveChannelErr,
    f.SendChannelMessage: ChannelMessageErrCode,
    f.GetMembers: GetMembersErr,
    f.GetChannelMemberCount: GetChannelMemberCountErrCode,
    f.SendInvitation: InvitationApiCallErrCode,
    f.CancelInvitation: InvitationApiCallErrCode,
    f.AnswerInvitation: InvitationApiCallErrCode,
}


def kind_name(kind: Any) -> str:
    """A frame class's wire tag (``send_peer``), or the kind itself if a string."""
    if isinstance(kind, str):
        return kind
    config = getattr(kind, "__struct_config__", None)
    tag = getattr(config, "tag", None)
    return str(tag) if tag else getattr(kind, "__name__", str(kind))


def code_name(kind: Any, code: int) -> str:
    """Agora's name of a request's result code (the number if unknown)."""
    enum = _CODES.get(kind)
    try:
        return enum(code).name if enum is not None else str(code)
    except ValueError:
        return str(code)


class NodeCollector(Collector):
    """Every figure of one node; ``context()`` answers its live ``ServerContext``."""

    def __init__(
        self,
        context: Callable[[], Any],
        ready: Callable[[], bool],
        admission: Callable[[], Any] = lambda: None,
    ) -> None:
        self._context = context
        self._ready = ready
        self._admission = admission

    def collect(self) -> Iterable[Metric]:
        """The families, computed now (Prometheus calls this on each scrape)."""
        ready = GaugeMetricFamily("rtm_ready", "1 while the server accepts connections")
        ready.add_metric([], 1.0 if self._ready() else 0.0)
        yield ready
        yield from _process()
        ctx = self._context()
        if ctx is None:
            return
        yield from _gauges(ctx)
        yield from _counters(ctx)
        admission = self._admission()
        if admission is not None:
            yield from _sockets(admission)
        cluster = getattr(ctx, "cluster", None)  # (None on a single node)
        if cluster is not None:
            yield from _cluster(cluster)
        yield _latency(ctx.metrics.latency)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=value)


def _counter(name: str, text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, text, value=value)


def _labelled(
    name: str, text: str, label: str | list[str], items: Iterable[tuple[Any, int]]
) -> CounterMetricFamily:
    labels = [label] if isinstance(label, str) else label
    family = CounterMetricFamily(name, text, labels=labels)
    for key, value in sorted(items, key=lambda kv: str(kv[0])):
        family.add_metric(list(key) if isinstance(key, tuple) else [str(key)], value)
    return family


def _process() -> Iterator[Metric]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    yield _counter(
        "rtm_process_cpu_seconds", "CPU time of the process", usage.ru_utime + usage.ru_stime
    )
    yield _gauge(
        "rtm_process_max_resident_bytes",
        "peak resident memory of the process",
        usage.ru_maxrss * 1024,
    )


def _gauges(ctx: Any) -> Iterator[Metric]:
    metrics = ctx.metrics
    yield _gauge("rtm_start_time_seconds", "when the node started (Unix time)", metrics.started_at)
    yield _gauge(
        "rtm_users_online", "logged-in users on this node (incl. grace period)", len(ctx.directory)
    )
    yield _gauge("rtm_channels", "live channels", len(ctx.channels))
    yield _gauge("rtm_channel_members", "members of all live channels", ctx.channels.members())
    yield _gauge(
        "rtm_invitations_in_flight", "invitations not yet ended", invitations_in_flight(ctx)
    )
    yield _gauge("rtm_banned_users", "users banned on this node", len(ctx.bans))
    yield _gauge(
        "rtm_offline_store_durable",
        "1 while offline messages are kept where a store restart does not lose them "
        "(0: a Redis without an append-only file; see /readyz)",
        _durable(ctx.store),
    )
    total = getattr(ctx.store, "total", None)
    if total is not None:
        yield _gauge("rtm_offline_messages_stored", "peer messages kept for offline users", total())


def _durable(store: Any) -> float:
    durability = getattr(store, "durability", None)
    return 0.0 if durability is not None and not durability.durable else 1.0


def _sockets(admission: Any) -> Iterator[Metric]:
    """Open sockets by phase, and what the caps did (``server/admission.py``)."""
    sockets = GaugeMetricFamily("rtm_sockets", "open client sockets, by state", labels=["state"])
    for state, count in zip(("http", "login", "logged_in"), admission.counts, strict=True):
        sockets.add_metric([state], count)
    yield sockets
    # Counted where they run: O(1) at any size (a walk of gc.get_objects costs ~105 ms
    # per million heap objects, measured: a stall of the whole server per scrape).
    yield _gauge(
        "rtm_greenlets",
        "long-lived greenlets: one per open socket, one per running actor loop",
        admission.total + LOOP_GREENLETS[0],
    )
    yield _labelled(
        "rtm_connections_cut",
        "sockets closed by the admission limits, by why",
        "why",
        [
            ("evicted", admission.evicted.total),
            ("refused", admission.refused.total),
            ("accept_failed", admission.accept_failed.total),
        ],
    )


def _cluster(cluster: Any) -> Iterator[Metric]:
    """Several nodes on one Redis (docs/cluster.md)."""
    publisher = cluster.publisher
    yield _gauge("rtm_cluster_redis_up", "1 while this node reaches Redis", cluster.healthy)
    yield _gauge("rtm_cluster_publish_queue", "envelopes waiting to be published", publisher.queued)
    yield _counter(
        "rtm_cluster_published", "envelopes published to other nodes", publisher.published
    )
    yield _counter(
        "rtm_cluster_publish_dropped", "envelopes dropped while Redis was away", publisher.dropped
    )
    yield _counter("rtm_cluster_received", "envelopes received from other nodes", cluster.received)
    yield _counter(
        "rtm_cluster_channel_log_gaps",
        "channel log entries trimmed before this node read them (members missed messages)",
        cluster.log_gaps,
    )
    yield _counter(
        "rtm_cluster_channel_refused",
        "channel messages refused (FAILURE) while the publish queue was half full",
        cluster.refused_posts,
    )


def _counters(ctx: Any) -> Iterator[Metric]:
    stats, metrics = ctx.stats, ctx.metrics
    yield _counter("rtm_logins", "fresh logins (a resumed session is not one)", stats.logins)
    yield _labelled(
        "rtm_messages_in",
        "frames received from clients, by kind (send_peer, send_channel, ping, ...)",
        "kind",
        ((kind_name(k), v) for k, v in metrics.frames_in.items()),
    )
    yield _labelled(
        "rtm_messages_out",
        "frames sent to clients, by kind (peer_msg, channel_msg, reply, ...)",
        "kind",
        ((kind_name(k), v) for k, v in metrics.frames_out.items()),
    )
    yield _counter("rtm_peer_messages", "peer messages accepted from senders", stats.peer_messages)
    yield _labelled(
        "rtm_deliveries",
        "messages a receiver got: peer (acknowledged by its SDK) and channel (written)",
        "kind",
        [("peer", stats.deliveries), ("channel", metrics.channel_deliveries)],
    )
    yield _counter(
        "rtm_offline_messages_saved",
        "peer messages saved for offline receivers",
        stats.offline_stored,
    )
    yield _labelled(
        "rtm_invitations",
        "call invitations that ended, by outcome",
        "outcome",
        metrics.invitations.items(),
    )
    errors = [((kind_name(k), code_name(k, c)), v) for (k, c), v in metrics.request_errors.items()]
    errors.append((("protocol", DisconnectCode.PROTOCOL_ERROR.name), stats.protocol_errors))
    yield _labelled(
        "rtm_errors",
        "failed requests and protocol errors, by kind and code",
        ["kind", "code"],
        errors,
    )
    yield _counter(
        "rtm_slow_consumers",
        "clients cut off because their send queue backed up (SLOW_CONSUMER)",
        stats.slow_consumers,
    )
    yield _labelled(
        "rtm_sessions_ended",
        "sessions that ended, by reason",
        "reason",
        metrics.sessions_ended.items(),
    )
    yield _labelled(
        "rtm_links_lost",
        "websockets lost while their session went on, by reason",
        "reason",
        metrics.links_lost.items(),
    )
    yield _counter(
        "rtm_actor_crashes", "supervised actors that crashed", metrics.actor_events["crashed"]
    )


def _latency(latency: dict[Any, LatencyHistogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "rtm_request_duration_seconds",
        "from a request read to its reply written (send_peer: to the delivery receipt)",
        labels=["kind"],
    )
    for kind, histogram in sorted(latency.items(), key=lambda kv: kind_name(kv[0])):
        buckets: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), histogram.counts, strict=True):
            running += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
        family.add_metric([kind_name(kind)], buckets, sum_value=histogram.sum)
    return family


def node_registry(
    context: Callable[[], Any],
    ready: Callable[[], bool],
    admission: Callable[[], Any] = lambda: None,
) -> CollectorRegistry:
    """A registry of its own for one node (never the process-wide default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(context, ready, admission))
    return registry


def render(registry: CollectorRegistry, accept: str = "") -> tuple[bytes, str]:
    """Everything in ``registry`` and its content type: the Prometheus text format,
    or OpenMetrics if the scraper's ``Accept`` header asks for it."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
