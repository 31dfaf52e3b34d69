"""Client timings: the connection machine's plus per-request timeouts (Agora's defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rtm_actors.protocol.connection import Timings


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything timed on the client side; tests shorten it, operators tune it."""

    timings: Timings = field(default_factory=Timings)
    #: Peer message result timeout (Agora: 10 s) -> ``SENT_TIMEOUT``.
    peer_message_timeout: float = 10.0
    #: Presence and subscription requests (Agora: 10 s) -> ``TIMEOUT``.
    presence_timeout: float = 10.0
    #: Attribute and other requests (Agora: 5 s) -> ``TIMEOUT``.
    request_timeout: float = 5.0
    #: For ``wss://`` servers: a CA bundle to trust instead of the system's (self-signed).
    ssl_cafile: str | None = None
    #: Received message ids remembered to drop duplicates after a reconnect.
    dedup_window: int = 8192
    #: Run this service's callbacks on one greenlet shared by every service of the
    #: process that sets it, not on one of its own: a wake-up per loop round for all
    #: of them instead of one per service, and no dispatcher per service. The price:
    #: a callback that blocks holds up the other services' callbacks too (never their
    #: network I/O). For many services whose callbacks only count, as the load tool's.
    shared_dispatcher: bool = False
