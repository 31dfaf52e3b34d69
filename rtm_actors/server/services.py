"""What each part of a node is given: the node's services, one bundle per kind of part.

A node's services are objects whose state only their own methods change, called
synchronously and never across a yield (``docs/architecture.md``). No part holds
them all: ``ServerContext`` (``server/context.py``), the node's wiring, builds them
and hands each part the bundle below that names what it may touch: a session its
``SessionServices`` (through its port), the gateway its ``GatewayServices``, the
cluster its ``ClusterServices``. Channels get theirs from the channel registry
(``server/channels.py``), the presence hub and the routes their cluster's face at
their constructors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rtm_actors.protocol.codes import LoginErrCode
from rtm_actors.protocol.server_session_io import SessionConfig
from rtm_actors.protocol.tokens import TokenCheck, verify_token

if TYPE_CHECKING:
    import pykka

    from rtm_actors.protocol.invitation import InvitationTimings
    from rtm_actors.runtime import Supervisor
    from rtm_actors.server.channels import Channels
    from rtm_actors.server.config import ServerConfig
    from rtm_actors.server.directory import Directory, Routes, UserKey
    from rtm_actors.server.invitation_desk import InvitationDesk
    from rtm_actors.server.metrics import ServerMetrics
    from rtm_actors.server.offline_quota import OfflineQuota
    from rtm_actors.server.presence import PresenceHub
    from rtm_actors.server.user_rates import UserRates
    from rtm_actors.store.base import OfflineStore, UserAttributeStore


@dataclass
class ServerStats:
    """Counters a node keeps (the metrics endpoint reads them)."""

    logins: int = 0
    peer_messages: int = 0
    deliveries: int = 0
    offline_stored: int = 0
    slow_consumers: int = 0
    protocol_errors: int = 0


class Tokens:
    """Login tokens, checked against each app's certificate. With no certificate at
    all the node is in testing mode: any token, any app id (as Agora does for projects
    without a certificate)."""

    __slots__ = ("_certificates",)

    def __init__(self, certificates: Mapping[str, str]) -> None:
        self._certificates = certificates

    def check(self, app_id: str, user_id: str, token: str) -> TokenCheck:
        """Verify a login (or renewed) token of ``user_id`` in ``app_id``."""
        if not self._certificates:
            return TokenCheck(LoginErrCode.OK, None, None)
        certificate = self._certificates.get(app_id)
        if certificate is None:
            return TokenCheck(LoginErrCode.INVALID_APP_ID, None, None)
        return verify_token(token, app_id, certificate, user_id, int(time.time()))


def session_config(config: ServerConfig) -> SessionConfig:
    """The settings a session's rules use."""
    return SessionConfig(
        max_unacked=config.max_unacked,
        max_unacked_bytes=config.max_unacked_bytes,
        max_backlog=config.max_backlog,
        dedup_window=config.dedup_window,
        grace_period=config.grace_period,
        unreachable_after=config.unreachable_after,
        token_warning=config.token_warning,
        heartbeat_interval=config.heartbeat_interval,
        max_live_invitations=config.max_live_invitations,
    )


@dataclass(frozen=True, slots=True)
class DeskServices:
    """What the node's invitation desk is given: its timings, where a user's session
    is, the presence hub (to hear an offline callee log in), and the counters."""

    timings: InvitationTimings
    routes: Routes
    presence: PresenceHub
    metrics: ServerMetrics


class DeskHolder(Protocol):
    """Where the node's invitation desk is: what ``server/invitation_actor.py``'s
    helpers read to reach it (the node's ``ServerContext`` is one)."""

    @property
    def invitation_desk(self) -> pykka.ActorRef[InvitationDesk] | None: ...


@dataclass(frozen=True, slots=True)
class OfflineServices:
    """The offline store, the quotas that bound what each sender keeps there, and the
    counter of what it kept."""

    store: OfflineStore
    quota: OfflineQuota
    stats: ServerStats


@dataclass(frozen=True, slots=True)
class SessionServices:
    """What a session reaches on its node, through its port (``session_port.py``)."""

    #: The settings its rules use.
    config: SessionConfig
    #: Its app's offline messages (store, quotas, counter).
    offline: OfflineServices
    #: User attributes, kept beyond the session for the user's next login.
    attributes: UserAttributeStore
    #: Its own entry (removed when it ends), and the other users' sessions.
    directory: Directory
    routes: Routes
    #: Its user's state, and its watches on others.
    presence: PresenceHub
    #: Its user's call limits (they outlive the session).
    rates: UserRates
    #: A renewed token's check.
    tokens: Tokens
    #: The live channels, started on a join or an attribute write.
    channels: Channels
    #: The invitation desk, for the invitations it starts or answers.
    invitations: DeskHolder
    stats: ServerStats
    metrics: ServerMetrics


@dataclass(frozen=True, slots=True)
class GatewayServices:
    """What the gateway reaches: it checks logins, then starts or resumes sessions."""

    config: ServerConfig
    tokens: Tokens
    #: Read only: a banned user's login is refused.
    bans: Container[UserKey]
    #: The per-user login rate.
    rates: UserRates
    #: Who is logged in here (a login registers its session, a resume finds it).
    directory: Directory
    #: Watches every session it starts.
    supervisor: pykka.ActorRef[Supervisor] | None
    #: What each session it starts is given.
    sessions: SessionServices
    #: With several nodes: take the user from any other node (an older session there
    #: is kicked); None on a single node.
    claim: Callable[[UserKey, str], None] | None
    stats: ServerStats
    metrics: ServerMetrics


@dataclass(frozen=True, slots=True)
class ClusterServices:
    """What the cluster reaches on its own node: where other nodes' envelopes go,
    and what it registers again in Redis after Redis came back."""

    directory: Directory
    channels: Channels
    presence: PresenceHub
    #: A peer message whose receiver left this node meanwhile may be kept offline.
    offline: OfflineServices
    #: The invitation desk, for the parties' inputs from other nodes.
    invitations: DeskHolder
