"""``RtmServer``: one node of the RTM system, stand-alone or mounted in a WSGI app."""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import gevent
import gevent.ssl
import pykka
import structlog
from gevent.pywsgi import WSGIServer
from prometheus_client.registry import CollectorRegistry

from rtm_actors.log import configure_logging
from rtm_actors.protocol.codes import ConnectionChangeReason
from rtm_actors.runtime import Supervisor, tell_or_run_inline
from rtm_actors.server import messages as m
from rtm_actors.server.admin import AdminApp
from rtm_actors.server.admission import AdmittingWSGIServer
from rtm_actors.server.config import ServerConfig
from rtm_actors.server.context import ServerContext
from rtm_actors.server.gateway import Gateway
from rtm_actors.server.invitation_desk import start_desk
from rtm_actors.server.log_budget import PRE_LOGIN_LINES, LogBudget
from rtm_actors.server.ops import OpsApp
from rtm_actors.server.prometheus import node_registry
from rtm_actors.server.wsio import LeanWebSocketHandler
from rtm_actors.store import (
    OfflinePolicy,
    OfflineStore,
    accepts_offline,
    is_redis_url,
    open_offline_store,
)

if TYPE_CHECKING:
    from rtm_actors.server.directory import LocalSession

log = structlog.get_logger("rtm_actors.server")


class RtmServer:
    """An RTM server node.

    Args:
        host: address to listen on (stand-alone mode).
        port: TCP port; 0 picks a free one (see ``url`` after ``start``).
        store: ``"memory"``, ``"sqlite:///path.db"`` (the default, survives
            restarts), ``"redis://host:port/db"`` (several nodes on one Redis are one
            system: see docs/cluster.md), or an ``OfflineStore`` object.
        app_certificates: ``{app_id: certificate}``; ``None`` is testing mode, where
            any token is accepted (as Agora does for projects without a certificate).
        config: timings and bounds (``ServerConfig``).
        path: the websocket path.
        certfile: with ``keyfile``, serve ``wss://`` (TLS) in stand-alone mode.
        keyfile: the certificate's private key.
        admin_token: enables the operator endpoints (``<path>/admin/ban``) with this
            bearer token.
        metrics: serve Prometheus metrics on ``/metrics`` (``/healthz`` and
            ``/readyz`` are always served).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8700,
        store: str | OfflineStore = "sqlite:///rtm.db",
        app_certificates: Mapping[str, str] | None = None,
        config: ServerConfig | None = None,
        path: str = "/rtm",
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        admin_token: str | None = None,
        metrics: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.path = path
        self.config = config or ServerConfig()
        self._tls: dict[str, Any] = {}
        if certfile:
            # gevent's context (cooperative sockets); the modern server protocol.
            context = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self._tls["ssl_context"] = context
        self._admin_token = admin_token
        self._certificates = dict(app_certificates or {})
        self._store_spec = store
        self._ctx: ServerContext | None = None
        self._gateway: Gateway | None = None
        self._http: WSGIServer | None = None
        self._metrics = metrics
        self._registry: CollectorRegistry | None = None
        #: ``stop()`` has begun: ``/readyz`` answers 503.
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        """Open the store, start the supervisor and listen; return once listening."""
        configure_logging()
        gateway = self._ensure_started()
        self._http = AdmittingWSGIServer(
            (self.host, self.port),
            gateway,
            admission=gateway.admission,
            request_timeout=self.config.request_timeout,
            handler_class=LeanWebSocketHandler,
            backlog=2048,
            log=None,
            error_log=cast(Any, _ErrorLog()),
            **self._tls,
        )
        self._http.start()
        self.port = int(self._http.server_port or self.port)
        if self.context.cluster is not None:
            self.context.cluster.listening(self.url)
        log.info("server_listening", url=self.url, store=self._store_name())
        return self

    def serve_forever(self) -> None:
        """Start (if needed) and block until ``stop()``."""
        if self._http is None:
            self.start()
        assert self._http is not None
        self._http.serve_forever()

    def stop(self, timeout: float | None = None) -> None:
        """Graceful stop: stop listening, tell clients to reconnect, flush the store."""
        timeout = self.config.shutdown_timeout if timeout is None else timeout
        self._stopping = True
        began = time.monotonic()
        if self._http is not None:
            self._http.close()
        ctx = self._ctx
        if ctx is not None:
            sessions = ctx.directory.sessions()
            replies = [_ask_nowait(ref, m.Shutdown()) for ref in sessions]
            with gevent.Timeout(timeout, False):  # type: ignore[arg-type]
                for reply in replies:
                    if reply is not None:
                        reply.get()
            if ctx.invitation_desk is not None:
                ctx.invitation_desk.stop(block=False)
            if ctx.supervisor is not None:
                # It stops what it still supervises (channels) before itself.
                ctx.supervisor.stop(block=False)
            if ctx.cluster is not None:
                ctx.cluster.stop()
            ctx.store.close()
            log.info(
                "server_stopped",
                url=self.url,
                sessions=len(sessions),
                seconds=round(time.monotonic() - began, 3),
            )
        if self._http is not None:
            self._http.stop(timeout=1)
            self._http = None
        self._ctx = None
        self._gateway = None
        self._registry = None
        self._stopping = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- mounting ----------------------------------------------------------------

    @property
    def wsgi_app(self) -> Gateway:
        """The WSGI app to mount in your own ``gevent.pywsgi.WSGIServer``.

        Serve it with ``handler_class=geventwebsocket.handler.WebSocketHandler``;
        it answers websockets on ``path`` and 404 elsewhere, so route only that
        path to it. The store and actors start on first use.
        """
        return self._ensure_started()

    # -- operator ----------------------------------------------------------------

    def ban(self, app_id: str, user_id: str) -> None:
        """Ban a user: its session ends with ``BANNED_BY_SERVER`` and its logins fail."""
        ctx = self.context
        ctx.bans.add((app_id, user_id))
        session = ctx.directory.route((app_id, user_id))
        if session is not None:
            tell_or_run_inline(session, m.KickSession(ConnectionChangeReason.BANNED_BY_SERVER))
        log.info("user_banned", app_id=app_id, user_id=user_id)

    def unban(self, app_id: str, user_id: str) -> None:
        """Lift a ban."""
        self.context.bans.discard((app_id, user_id))
        log.info("user_unbanned", app_id=app_id, user_id=user_id)

    @property
    def metrics_registry(self) -> CollectorRegistry | None:
        """This node's own Prometheus registry, once started (None with ``metrics=False``)."""
        return self._registry

    @property
    def url(self) -> str:
        """The websocket URL clients connect to (``ws://host:port/rtm``)."""
        scheme = "wss" if self._tls else "ws"
        return f"{scheme}://{self.host}:{self.port}{self.path}"

    @property
    def context(self) -> ServerContext:
        """The node's shared parts (directory, store, stats), for tests and tools."""
        if self._ctx is None:
            msg = "server not started"
            raise RuntimeError(msg)
        return self._ctx

    def _ensure_started(self) -> Gateway:
        if self._gateway is None:
            spec = self._store_spec
            if isinstance(spec, str) and is_redis_url(spec):
                self._ctx = _cluster_context(spec, self.config, self._certificates)
            else:
                policy = _offline_policy(self.config)
                store = open_offline_store(spec, policy) if isinstance(spec, str) else spec
                self._ctx = ServerContext(
                    config=self.config, store=store, certificates=self._certificates
                )
            ctx = self._ctx
            ctx.supervisor = Supervisor.start(name="server", on_event=ctx.metrics.actor_event)
            ctx.channels.supervisor = ctx.supervisor
            ctx.invitation_desk = start_desk(ctx.desk_services(), ctx.supervisor)
            if ctx.cluster is not None:
                ctx.cluster.start(ctx.cluster_services(), self.url)
            admin = AdminApp(self._admin_token, self.ban, self.unban) if self._admin_token else None
            if self._metrics:
                self._registry = node_registry(lambda: self._ctx, self._ready, self._admission)
            ops = OpsApp(self._registry, self._healthy, self._ready, self._warnings)
            self._gateway = Gateway(ctx.gateway_services(), self.path, admin, ops)
        return self._gateway

    def _admission(self) -> Any:
        """The gateway's socket counts (for /metrics), once started."""
        return self._gateway.admission if self._gateway is not None else None

    def _ready(self) -> bool:
        """Serving (or mounted and started) and not stopping: take new clients."""
        return self._ctx is not None and not self._stopping

    def _warnings(self) -> list[str]:
        """What the node cannot promise now (``/readyz`` lists it after ``ready``)."""
        ctx = self._ctx
        durability = getattr(ctx.store, "durability", None) if ctx is not None else None
        if ctx is None or durability is None or durability.durable:
            return []
        if accepts_offline(ctx.store):
            return [
                f"offline store assumed durable but Redis has {durability.detail}: "
                "a Redis restart loses offline messages answered CACHED_BY_SERVER"
            ]
        return [
            f"offline messages refused (PEER_UNREACHABLE): Redis has {durability.detail}, "
            "so a Redis restart would lose them (docs/cluster.md)"
        ]

    def _healthy(self) -> bool:
        """The node's supervisor runs (and so does the hub, since we answer)."""
        ctx = self._ctx
        return ctx is not None and ctx.supervisor is not None and ctx.supervisor.is_alive()

    def _store_name(self) -> str:
        return (
            self._store_spec
            if isinstance(self._store_spec, str)
            else type(self._store_spec).__name__
        )


def _cluster_context(url: str, config: ServerConfig, certificates: dict[str, str]) -> ServerContext:
    """A node's context when several nodes share the Redis at ``url``."""
    from rtm_actors.server.cluster import Cluster

    cluster = Cluster(
        url,
        heartbeat=config.node_heartbeat,
        expiry=config.node_expiry,
        assume_durable=config.assume_redis_durable,
        policy=_offline_policy(config),
        max_queued=config.cluster_publish_queue,
    )
    return ServerContext(
        config=config,
        store=cluster.offline,
        attributes=cluster.user_attributes,
        certificates=certificates,
        cluster=cluster,
    )


def _ask_nowait(ref: LocalSession, message: m.Shutdown) -> pykka.Future[Any] | None:
    try:
        return ref.ask(message, block=False)
    except pykka.ActorDeadError:
        return None


#: gevent.pywsgi's complaints (a garbled request is one line each: a client's to make).
HTTP_ERRORS = LogBudget(log, "http_error", lines=PRE_LOGIN_LINES, level="warning")


class _ErrorLog:
    """gevent.pywsgi's error log, through structlog."""

    def write(self, text: str) -> None:
        text = text.strip()
        if text:
            HTTP_ERRORS.note(detail=text[:500])

    def flush(self) -> None:
        pass


def _offline_policy(config: ServerConfig) -> OfflinePolicy:
    """The offline store's bound from the server's settings (the TTL stays Agora's)."""
    return OfflinePolicy(max_per_receiver=config.max_offline_messages)
