"""One node's wiring: its services, built once, and the bundles that hand them out.

``ServerContext`` is what ``RtmServer`` builds at start (and what tests and tools
inspect through ``RtmServer.context``). No actor holds it: each part is given only
the bundle of services it uses (``server/services.py``), built here. The invitation
desk takes its ``DeskServices``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rtm_actors.server.channels import Channels
from rtm_actors.server.config import ServerConfig
from rtm_actors.server.directory import Directory, Routes, UserKey
from rtm_actors.server.metrics import ServerMetrics
from rtm_actors.server.offline_quota import OfflineQuota
from rtm_actors.server.presence import PresenceHub
from rtm_actors.server.services import (
    ClusterServices,
    DeskServices,
    GatewayServices,
    OfflineServices,
    ServerStats,
    SessionServices,
    Tokens,
    session_config,
)
from rtm_actors.server.user_rates import UserRates
from rtm_actors.store.base import OfflineStore, UserAttributeStore
from rtm_actors.store.memory import MemoryUserAttributeStore

if TYPE_CHECKING:
    import pykka

    from rtm_actors.runtime import Supervisor
    from rtm_actors.server.cluster import Cluster
    from rtm_actors.server.invitation_desk import InvitationDesk

__all__ = ["ServerContext", "ServerStats", "now_ms"]


@dataclass
class ServerContext:
    """One node's services: settings, routing, presence, storage, supervisor, counters.

    Each service is an object whose state only its own methods change, called
    synchronously and never across a yield (``docs/architecture.md``). The node
    builds each part's bundle from these (``sessions``, ``gateway_services``,
    ``cluster_services``); the parts never see the whole.
    """

    config: ServerConfig
    store: OfflineStore
    attributes: UserAttributeStore = field(default_factory=MemoryUserAttributeStore)
    #: App id -> app certificate; empty means testing mode (any token, any app id).
    certificates: dict[str, str] = field(default_factory=dict)
    #: Several nodes on one Redis (``server.cluster.Cluster``); None on a single node.
    cluster: Cluster | None = None
    directory: Directory = field(default_factory=Directory)
    presence: PresenceHub = field(init=False)
    #: The node's supervisor, once started (``RtmServer`` starts it).
    supervisor: pykka.ActorRef[Supervisor] | None = None
    channels: Channels = field(init=False)
    #: Banned users: (app id, user id). Their logins are refused.
    bans: set[UserKey] = field(default_factory=set)
    #: The actor that holds every invitation in flight on this node (``InvitationDesk``).
    invitation_desk: pykka.ActorRef[InvitationDesk] | None = None
    stats: ServerStats = field(default_factory=ServerStats)
    #: Event counts and latencies by kind, for the metrics endpoint.
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    #: Every user's call limits: they outlive the user's sessions.
    rates: UserRates = field(init=False)
    #: What each sender and app holds in the offline store.
    offline_quota: OfflineQuota = field(init=False)
    #: Where each user's session is (here, on another node, nowhere).
    routes: Routes = field(init=False)
    tokens: Tokens = field(init=False)
    #: What every session of this node is given.
    sessions: SessionServices = field(init=False)

    def __post_init__(self) -> None:
        cluster = self.cluster
        self.presence = PresenceHub(cluster)
        self.channels = Channels(self.config, metrics=self.metrics, cluster=cluster)
        self.rates = UserRates(self.config)
        self.offline_quota = OfflineQuota(
            self.config.offline_quota_per_sender, self.config.offline_quota_per_app
        )
        self.routes = Routes(self.directory, cluster.remote_ref if cluster is not None else None)
        self.tokens = Tokens(self.certificates)
        if cluster is not None:
            self.bans = cluster.bans
        self.sessions = SessionServices(
            config=session_config(self.config),
            offline=self._offline(),
            attributes=self.attributes,
            directory=self.directory,
            routes=self.routes,
            presence=self.presence,
            rates=self.rates,
            tokens=self.tokens,
            channels=self.channels,
            invitations=self,
            stats=self.stats,
            metrics=self.metrics,
        )

    def desk_services(self) -> DeskServices:
        """What the invitation desk is given."""
        return DeskServices(
            self.config.invitation_timings, self.routes, self.presence, self.metrics
        )

    def gateway_services(self) -> GatewayServices:
        """What the gateway is given (once the supervisor runs)."""
        cluster = self.cluster
        return GatewayServices(
            config=self.config,
            tokens=self.tokens,
            bans=self.bans,
            rates=self.rates,
            directory=self.directory,
            supervisor=self.supervisor,
            sessions=self.sessions,
            claim=cluster.claim if cluster is not None else None,
            stats=self.stats,
            metrics=self.metrics,
        )

    def cluster_services(self) -> ClusterServices:
        """What the node's cluster is given (with several nodes)."""
        cluster = self.cluster
        if cluster is None:
            msg = "a single node has no cluster"
            raise RuntimeError(msg)
        return ClusterServices(
            directory=self.directory,
            channels=self.channels,
            presence=self.presence,
            offline=self._offline(),
            invitations=self,
        )

    def _offline(self) -> OfflineServices:
        return OfflineServices(self.store, self.offline_quota, self.stats)


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch: Agora's ``server_received_ts``."""
    return int(time.time() * 1000)
