"""Every server timing and bound in one place; defaults are Agora's where it has one."""

from __future__ import annotations

from dataclasses import dataclass, field

from rtm_actors.protocol.invitation import InvitationTimings
from rtm_actors.protocol.limits import MAX_OFFLINE_MESSAGES


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Server settings. Tests shorten the timings to run real code paths in seconds."""

    #: A user whose link dropped stays online (and keeps its session) this long.
    grace_period: float = 30.0
    #: A user whose link has been silent this long is UNREACHABLE to subscribers.
    unreachable_after: float = 6.0
    #: A socket with no frame for this long is dead: a client process that hangs, or
    #: one that stopped its heartbeat. (A dead client host or network is found sooner,
    #: by ``keepalive_timeout``.)
    idle_timeout: float = 30.0
    #: A client that answers nothing at the TCP level (no data, no ACK of the kernel's
    #: keepalive probes or of data sent) for this long is dead: the kernel ends the
    #: socket, with no wake-up of the server meanwhile (Linux keepalive and
    #: TCP_USER_TIMEOUT; elsewhere what the platform has). 0: off.
    keepalive_timeout: float = 10.0
    #: A write stuck this long means the client is not reading: it is cut off as slow.
    write_timeout: float = 5.0
    #: A new websocket must log in within this many seconds of its upgrade, whatever it
    #: sends meanwhile (close 3009 "no login").
    login_timeout: float = 10.0
    #: Heartbeat interval the server asks clients to keep (seconds); well under
    #: ``idle_timeout``.
    heartbeat_interval: float = 10.0
    #: Sockets not logged in (before the upgrade or the login) held at once; beyond it
    #: the oldest is closed to make room (server/admission.py).
    max_unauthenticated: int = 1000
    #: Logins per user id per second across the server (Agora's client limit is 2/s).
    login_rate: int = 5
    #: Peer and channel messages per user per ``message_rate_window`` (Agora's server
    #: SDK limit: 1,500 / 3 s).
    message_rate: int = 1500
    #: The window of ``message_rate``, in seconds.
    message_rate_window: float = 3.0
    #: Messages waiting in a session's inbox before its client is cut off as slow.
    max_backlog: int = 5000
    #: Presence queries (count, window in seconds). This and the rates below are per
    #: user, Agora's Linux SDK 1.4 values, and outlive sessions (``server/user_rates.py``).
    presence_query_rate: tuple[int, float] = (100, 5.0)
    #: Presence subscriptions (count, window in seconds).
    subscribe_rate: tuple[int, float] = (10, 5.0)
    #: User and channel attribute writes (count, window in seconds).
    attribute_write_rate: tuple[int, float] = (100, 5.0)
    #: User and channel attribute reads (count, window in seconds).
    attribute_read_rate: tuple[int, float] = (400, 5.0)
    #: Channel joins (count, window in seconds).
    join_rate: tuple[int, float] = (50, 3.0)
    #: Joins of one and the same channel (count, window in seconds).
    same_channel_join_rate: tuple[int, float] = (2, 5.0)
    #: Channel member list queries (count, window in seconds).
    get_members_rate: tuple[int, float] = (5, 2.0)
    #: Channel member count queries (count, window in seconds).
    member_count_rate: tuple[int, float] = (1, 1.0)
    #: How often a channel sends member counts and checks whether it is idle.
    channel_tick: float = 0.5
    #: An empty channel (and its attributes) is dropped after this many seconds.
    empty_channel_ttl: float = 120.0
    #: Call invitations: offline retry, acknowledgement and expiry (Agora: 30, 30, 60 s).
    invitation_timings: InvitationTimings = field(default_factory=InvitationTimings)
    #: Seconds before an AccessToken2 expires that the client is told to renew it.
    token_warning: float = 30.0
    #: renew_token calls per user per second (Agora: 2).
    renew_rate: tuple[int, float] = (2, 1.0)
    #: Unacknowledged pushes a session keeps for a client before it is cut off as slow.
    max_unacked: int = 2000
    #: Sender message ids remembered per session to drop re-sent duplicates.
    dedup_window: int = 4096
    #: Largest frame read from a client, in bytes.
    max_frame_bytes: int = 256 * 1024
    #: Seconds ``stop()`` waits for sessions to close and stores to flush.
    shutdown_timeout: float = 5.0
    #: Several nodes on one Redis: how often a node refreshes its heartbeat key (seconds).
    #: A dead node is noticed within ``node_expiry + node_heartbeat`` seconds.
    node_heartbeat: float = 1.0
    #: The TTL of a node's heartbeat key, in seconds.
    node_expiry: float = 3.0
    #: Several nodes on one Redis: keep offline messages in a Redis without an
    #: append-only file (``appendonly no``) anyway, accepting that a Redis restart
    #: loses messages already answered CACHED_BY_SERVER. Off: such a Redis gets no
    #: offline messages (senders get PEER_UNREACHABLE). See docs/cluster.md.
    assume_redis_durable: bool = False
    #: Offline messages kept per receiver (Agora: 200). A full queue refuses newer
    #: messages (PEER_UNREACHABLE) rather than drop one already answered
    #: CACHED_BY_SERVER; tests shrink it.
    max_offline_messages: int = MAX_OFFLINE_MESSAGES
    # -- quotas per user and per app; added at the end, see docs/security.md --
    #: Call invitations sent per user per window (Agora sets none; invitations travel
    #: like messages, far fewer are needed). Beyond: ``ALREADY_END``.
    invitation_rate: tuple[int, float] = (20, 5.0)
    #: Invitations one caller may have in flight at once (each lives up to 60 s).
    max_live_invitations: int = 32
    #: What one sender may hold in the offline store (messages, bytes) until delivered
    #: or expired. Beyond: the message is not stored and is answered ``TOO_OFTEN``.
    offline_quota_per_sender: tuple[int, int] = (1000, 8 * 1024 * 1024)
    #: What one app's users may hold in the offline store together (messages, bytes).
    offline_quota_per_app: tuple[int, int] = (100_000, 256 * 1024 * 1024)
    #: Live channels of one app that nobody has joined (started by attribute writes).
    #: Beyond: a write to another such channel is answered ``TOO_OFTEN``.
    max_empty_channels_per_app: int = 1000
    #: Bytes waiting to be written to one client (with the write in progress) before
    #: it is cut off as a slow consumer (close 3008). 4 MiB holds 128 messages of 32 KB
    #: (a quarter second of one sender at Agora's full 500/s) on top of the kernel's
    #: send buffer: a reader that keeps up never waits on it, one that stops reading
    #: costs at most this much.
    max_pending_bytes: int = 4 << 20
    # -- admission: every socket has a deadline and a place in a cap ------
    #: An accepted socket must complete its HTTP request (the websocket upgrade, or a
    #: probe) within this many seconds of the accept, or it is closed without an answer.
    request_timeout: float = 10.0
    #: Open sockets at most; 0: the open-file limit less a reserve (64 or a tenth).
    #: Beyond it the oldest socket not logged in is closed, or, if all are logged in,
    #: the newcomer is refused (HTTP 503).
    max_connections: int = 0
    #: Message bytes a session holds unacknowledged for its client (beside the count,
    #: ``max_unacked``). Past it the client is cut off as slow and messages it has no
    #: room for are refused (PEER_UNREACHABLE). 8 MiB: 256 messages of 32 KB, far more
    #: than a client that acknowledges as it reads ever has in flight.
    max_unacked_bytes: int = 8 << 20
    #: Several nodes on one Redis: envelopes a node queues while Redis is away. Past
    #: half of it, channel messages are refused (FAILURE) rather than dropped later.
    cluster_publish_queue: int = 200_000


#: The config file's section of every ``ServerConfig`` field (``rtm-actors config
#: defaults``, docs/operations.md), in the order the file lists them. A new field
#: needs a place here (tests/unit/test_config_file.py checks every field has one).
#: ``invitation_timings`` is a dataclass: its own fields are keys of its section.
SECTIONS: dict[str, tuple[str, ...]] = {
    "transport": (
        "request_timeout",
        "login_timeout",
        "max_unauthenticated",
        "max_connections",
        "idle_timeout",
        "keepalive_timeout",
        "heartbeat_interval",
        "write_timeout",
        "max_frame_bytes",
        "max_pending_bytes",
        "shutdown_timeout",
    ),
    "sessions": (
        "grace_period",
        "unreachable_after",
        "token_warning",
        "max_backlog",
        "max_unacked",
        "max_unacked_bytes",
        "dedup_window",
    ),
    "limits": (
        "login_rate",
        "message_rate",
        "message_rate_window",
        "presence_query_rate",
        "subscribe_rate",
        "attribute_write_rate",
        "attribute_read_rate",
        "join_rate",
        "same_channel_join_rate",
        "get_members_rate",
        "member_count_rate",
        "renew_rate",
        "max_offline_messages",
        "offline_quota_per_sender",
        "offline_quota_per_app",
        "max_empty_channels_per_app",
    ),
    "channels": ("channel_tick", "empty_channel_ttl"),
    "invitations": ("invitation_timings", "invitation_rate", "max_live_invitations"),
    "cluster": (
        "node_heartbeat",
        "node_expiry",
        "assume_redis_durable",
        "cluster_publish_queue",
    ),
}
