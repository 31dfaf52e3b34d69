"""What the server actors of one node reach: settings, routing, storage, supervisor."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rtm_actors.protocol.codes import LoginErrCode
from rtm_actors.protocol.tokens import TokenCheck, verify_token
from rtm_actors.server.channels import Channels
from rtm_actors.server.config import ServerConfig
from rtm_actors.server.directory import Directory
from rtm_actors.server.metrics import ServerMetrics
from rtm_actors.server.offline_quota import OfflineQuota
from rtm_actors.server.presence import PresenceHub
from rtm_actors.server.user_rates import UserRates
from rtm_actors.store.base import OfflineStore, UserAttributeStore
from rtm_actors.store.memory import MemoryUserAttributeStore


@dataclass
class ServerStats:
    """Counters a node keeps (the metrics endpoint reads them)."""

    logins: int = 0
    peer_messages: int = 0
    deliveries: int = 0
    offline_stored: int = 0
    slow_consumers: int = 0
    protocol_errors: int = 0


@dataclass
class ServerContext:
    """One node's services: settings, routing, presence, storage, supervisor, counters.

    Each service is an object whose state only its own methods change, called
    synchronously and never across a yield (``docs/architecture.md``). A session
    never sees this: its shell reaches the node through ``session_port.NodeSessionPort``.
    """

    config: ServerConfig
    store: OfflineStore
    directory: Directory = field(default_factory=Directory)
    presence: PresenceHub = field(default_factory=PresenceHub)
    attributes: UserAttributeStore = field(default_factory=MemoryUserAttributeStore)
    supervisor: Any = None
    channels: Channels = field(init=False)
    #: App id -> app certificate; empty means testing mode (any token, any app id).
    certificates: dict[str, str] = field(default_factory=dict)
    #: Banned users: (app id, user id). Their logins are refused.
    bans: set[tuple[str, str]] = field(default_factory=set)
    #: The actor that holds every invitation in flight on this node (``InvitationDesk``).
    invitation_desk: Any = None
    stats: ServerStats = field(default_factory=ServerStats)
    #: Event counts and latencies by kind, for the metrics endpoint.
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    #: Several nodes on one Redis (``server.cluster.Cluster``); None on a single node.
    cluster: Any = None
    #: Every user's call limits: they outlive the user's sessions.
    rates: UserRates = field(init=False)
    #: What each sender and app holds in the offline store.
    offline_quota: OfflineQuota = field(init=False)

    def __post_init__(self) -> None:
        self.channels = Channels(self.config)
        self.channels.metrics = self.metrics
        self.rates = UserRates(self.config)
        self.offline_quota = OfflineQuota(
            self.config.offline_quota_per_sender, self.config.offline_quota_per_app
        )
        if self.cluster is not None:
            self.channels.cluster = self.presence.cluster = self.cluster
            self.bans = self.cluster.new_bans()

    def route(self, key: tuple[str, str]) -> Any | None:
        """The user's session: its actor here, a stand-in for it on another node, or
        None if the user is logged in nowhere."""
        ref = self.directory.route(key)
        if ref is None and self.cluster is not None:
            return self.cluster.remote_ref(key)
        return ref


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch: Agora's ``server_received_ts``."""
    return int(time.time() * 1000)


def check_token(ctx: ServerContext, app_id: str, user_id: str, token: str) -> TokenCheck:
    """Verify a login token against the app's certificate (testing mode: always OK)."""
    if not ctx.certificates:
        return TokenCheck(LoginErrCode.OK, None, None)
    certificate = ctx.certificates.get(app_id)
    if certificate is None:
        return TokenCheck(LoginErrCode.INVALID_APP_ID, None, None)
    return verify_token(token, app_id, certificate, user_id, int(time.time()))
