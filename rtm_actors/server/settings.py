"""What ``rtm-actors serve`` runs with: the node's own arguments and its ``ServerConfig``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rtm_actors.server.config import ServerConfig


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """``RtmServer``'s arguments as an operator sets them (config file, flags, environment)."""

    #: Address to listen on.
    host: str = "127.0.0.1"
    #: TCP port; 0: any free port.
    port: int = 8700
    #: Offline messages: sqlite:///relative.db, sqlite:////absolute.db, memory, or
    #: redis://host:port/db (several nodes on one Redis: docs/cluster.md).
    store: str = "sqlite:///rtm.db"
    #: The server's log level: debug, info, warning, error or critical.
    log_level: str = "info"
    #: TLS certificate (PEM): serve wss://.
    certfile: str | None = None
    #: The certificate's private key (PEM).
    keyfile: str | None = None
    #: Bearer token of the operator endpoints (ban, unban); none: they are off.
    admin_token: str | None = field(default=None, repr=False)
    #: Serve Prometheus metrics on /metrics (/healthz and /readyz are always served).
    metrics: bool = True
    #: App certificate by app id; none: testing mode, any token is accepted.
    app_certificates: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Every timing and bound (the file's sections).
    config: ServerConfig = field(default_factory=ServerConfig)
