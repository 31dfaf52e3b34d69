"""Admission: every socket counted from accept to close, and none held without a deadline.

A connection goes through three phases: ``HTTP`` (accepted: TLS handshake and HTTP
request, up to the websocket upgrade, or a probe or scrape), ``LOGIN`` (upgraded, no
login yet) and ``LOGGED_IN``. The first two are *waiting*: nobody has proven who they
are, so each has an absolute deadline (``request_timeout`` from accept, then
``login_timeout`` from the upgrade, whatever the socket sends meanwhile), and at most
``max_waiting`` of them are held. When a new connection would pass that cap, or the
``max_connections`` cap on all sockets (kept under the open-file limit), the *oldest*
waiting one is evicted to make room: an attacker holding many slow sockets loses them
to newcomers, while a real client, which upgrades and logs in within milliseconds of
connecting, is never the oldest. Only when every socket is logged in is a newcomer
refused.

A deadline or an eviction ends a waiting connection by throwing ``Cutoff`` into its
greenlet (a ``BaseException``, as ``gevent.Timeout`` is, so no ``except Exception`` on
the way swallows it); the gateway turns it into a close frame, before the upgrade the
socket is just closed. A logged-in connection is never thrown at.
"""

from __future__ import annotations

import errno
import resource
from enum import IntEnum
from typing import Any, Final

import gevent
import structlog
from gevent.pywsgi import WSGIServer

from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.server.log_budget import LogBudget

log = structlog.get_logger("rtm_actors.server.admission")

#: The WSGI environ key under which the handler passes a request's ``Connection``.
CONNECTION_KEY: Final = "rtm_actors.connection"

#: File descriptors kept free of client sockets: the listener, the store, Redis,
#: logs, /proc reads, at least 64 or a tenth of the limit.
FD_RESERVE_MIN: Final = 64


class SocketPhase(IntEnum):
    """Where a connection is; the first two are *waiting* (unauthenticated)."""

    HTTP = 0
    LOGIN = 1
    LOGGED_IN = 2
    CLOSED = 3


class Cutoff(BaseException):
    """Thrown into a waiting connection's greenlet to end it: a close code and reason
    for the websocket (before the upgrade the socket is just closed)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


#: What ends a waiting connection (templates: each throw raises a copy).
REQUEST_TIMEOUT = Cutoff(DisconnectCode.STALE, "no request")
LOGIN_TIMEOUT = Cutoff(DisconnectCode.STALE, "no login")
EVICTED = Cutoff(DisconnectCode.SHUTDOWN, "server busy: too many pending logins")


def default_max_connections() -> int:
    """The open-file limit less a reserve (``FD_RESERVE_MIN`` or a tenth)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(1, soft - max(FD_RESERVE_MIN, soft // 10))


class Connection:
    """One socket's place in the counts, its phase and its deadline."""

    __slots__ = ("_admission", "_cutoff", "_timer", "greenlet", "phase")

    def __init__(self, admission: Admission, greenlet: Any, phase: SocketPhase) -> None:
        self._admission = admission
        self.greenlet = greenlet
        self.phase = phase
        self._timer: Any = None
        #: An eviction or deadline on its way to the greenlet.
        self._cutoff: Cutoff | None = None

    def await_login(self, seconds: float) -> None:
        """Upgraded: the login deadline starts now (the request's is over)."""
        if self.phase is SocketPhase.HTTP:
            self._admission.move(self, SocketPhase.LOGIN)
            self.arm(seconds, LOGIN_TIMEOUT)

    def logged_in(self) -> bool:
        """The login is in: no deadline any more. False if the connection was cut off
        meanwhile (the cutoff had not reached it yet): then refuse the login."""
        self._disarm()
        if self._cutoff is not None or self.phase is SocketPhase.CLOSED:
            self._cutoff = None
            return False
        self._admission.move(self, SocketPhase.LOGGED_IN)
        return True

    def close(self) -> None:
        """The socket is gone (idempotent)."""
        self._disarm()
        self._admission.leave(self)

    def cut(self, cutoff: Cutoff) -> None:
        """End a waiting connection: counted out now, the cutoff thrown at it next."""
        if self.phase >= SocketPhase.LOGGED_IN or self._cutoff is not None:
            return
        self._disarm()
        self._cutoff = cutoff
        self._admission.leave(self)
        gevent.get_hub().loop.run_callback(self._deliver)

    def arm(self, seconds: float, cutoff: Cutoff) -> None:
        """Cut the connection off ``seconds`` from now unless it logs in first."""
        self._disarm()
        loop = gevent.get_hub().loop
        loop.update_now()  # (from the present, even after a stall: see runtime.timers)
        self._timer = loop.timer(seconds)
        self._timer.start(self.cut, cutoff)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.close()
            self._timer = None

    def _deliver(self) -> None:
        cutoff = self._cutoff
        greenlet = self.greenlet
        if cutoff is None or greenlet is None or greenlet.dead:
            return  # it logged in meanwhile (and was refused), or ended
        if not greenlet:  # spawned but not yet run: throw once it has
            gevent.get_hub().loop.run_callback(self._deliver)
            return
        self._cutoff = None
        # A fresh instance: a shared one would keep the last traceback's frames alive.
        greenlet.throw(Cutoff(cutoff.code, cutoff.reason))


class Admission:
    """The counts of sockets by phase, and the caps that keep them under the file limit.

    ``admit`` is called once per accepted socket (by ``AdmittingWSGIServer``), or at the
    upgrade when the gateway is mounted in another server (which then owns the sockets
    before it)."""

    def __init__(self, max_connections: int, max_waiting: int) -> None:
        self.max_connections = max_connections
        self.max_waiting = max_waiting
        #: Sockets by phase (HTTP, LOGIN, LOGGED_IN).
        self.counts = [0, 0, 0]
        #: Waiting connections, oldest first (a dict keeps insertion order).
        self._waiting: dict[Connection, None] = {}
        self.evicted = _budget("connections_evicted", "oldest waiting sockets closed for newcomers")
        self.refused = _budget(
            "connections_refused", "every socket is logged in: newcomers refused"
        )
        self.accept_failed = _budget("accept_failed", "out of file descriptors: raise ulimit -n")

    @property
    def total(self) -> int:
        """Open sockets, whatever their phase."""
        return self.counts[0] + self.counts[1] + self.counts[2]

    def admit(
        self, greenlet: Any, phase: SocketPhase, seconds: float, cutoff: Cutoff
    ) -> Connection | None:
        """Count a new socket in ``phase`` with a deadline; None: refuse it (full of
        logged-in users). Evicts the oldest waiting socket when a cap is reached."""
        full = len(self._waiting) >= self.max_waiting or self.total >= self.max_connections
        if full and not self.make_room():
            self.refused.note(limit=self.max_connections)
            return None
        conn = Connection(self, greenlet, phase)
        self.counts[phase] += 1
        self._waiting[conn] = None
        conn.arm(seconds, cutoff)
        return conn

    def make_room(self) -> bool:
        """Evict the oldest waiting connection (its descriptor is free once its greenlet
        has run); False if none is waiting."""
        oldest = next(iter(self._waiting), None)
        if oldest is None:
            return False
        oldest.cut(EVICTED)
        self.evicted.note(max_waiting=self.max_waiting, max_connections=self.max_connections)
        return True

    def move(self, conn: Connection, phase: SocketPhase) -> None:
        """``conn`` goes on to a later phase."""
        self.counts[conn.phase] -= 1
        self.counts[phase] += 1
        conn.phase = phase
        if phase is SocketPhase.LOGGED_IN:
            self._waiting.pop(conn, None)

    def leave(self, conn: Connection) -> None:
        """``conn`` is no longer counted (idempotent)."""
        if conn.phase is not SocketPhase.CLOSED:
            self.counts[conn.phase] -= 1
            conn.phase = SocketPhase.CLOSED
            self._waiting.pop(conn, None)


def _budget(event: str, why: str) -> LogBudget:
    """One warning line per 10 s for an admission event (with the count since)."""
    return LogBudget(log, event, level="warning", why=why)


#: accept() errors that mean "out of file descriptors or memory": wait, do not spin.
_OUT_OF_FILES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: How long accepting pauses after such an error (a pending client waits in the backlog),
#: and how many waiting sockets are evicted meanwhile to free descriptors.
ACCEPT_PAUSE: Final = 0.1
EVICT_ON_EMFILE: Final = 16
#: What a refused socket is sent before it is closed (best effort, never waited for).
BUSY_RESPONSE: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\nConnection: close\r\n"
    b"Retry-After: 1\r\n\r\nserver busy\n"
)


class AdmittingWSGIServer(WSGIServer):
    """gevent.pywsgi's server, with every accepted socket admitted (``Admission``) and a
    deadline on its request, and out-of-files accept errors logged once, not per accept.

    gevent's accept loop logs a traceback for every failed ``accept`` and retries with
    a backoff; at the file limit that is a traceback per retry. Here those errors pause
    accepting for ``ACCEPT_PAUSE`` with one rate-limited log line.
    """

    def __init__(
        self, *args: Any, admission: Admission, request_timeout: float, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.admission = admission
        self.request_timeout = request_timeout

    def do_read(self) -> Any:
        try:
            return super().do_read()
        except OSError as exc:
            if exc.errno not in _OUT_OF_FILES:
                raise
            self.admission.accept_failed.note(error=errno.errorcode.get(exc.errno or 0, "?"))
            # Free descriptors for the next tries: the oldest unauthenticated sockets'.
            for _ in range(EVICT_ON_EMFILE):
                if not self.admission.make_room():
                    break
            self._pause_accepting()
            return None

    def do_handle(self, sock: Any, address: Any) -> None:
        """Admit the accepted socket (this runs in the hub) and start its greenlet."""
        conn = self.admission.admit(None, SocketPhase.HTTP, self.request_timeout, REQUEST_TIMEOUT)
        if conn is None:
            _refuse(sock)
            return
        # (Nothing runs between the two lines: a cutoff cannot miss the greenlet.)
        conn.greenlet = gevent.spawn(self._serve, conn, sock, address)

    def _serve(self, conn: Connection, sock: Any, address: Any) -> None:
        """The connection's greenlet: TLS handshake, HTTP requests, the websocket."""
        server: Any = self  # (gevent's stubs do not know these attributes)
        try:
            if server.ssl_enabled:
                sock = server.wrap_socket(sock, **server.ssl_args)
            handler: Any = self.handler_class(sock, address, self)
            handler.connection = conn
            handler.handle()
        except Cutoff:
            pass  # a deadline or an eviction before the upgrade: just close
        except OSError as exc:  # a reset during the TLS handshake, say
            log.debug("connection_error", error=repr(exc)[:200])
        finally:
            conn.close()
            sock.close()

    def _pause_accepting(self) -> None:
        # As gevent's own accept loop backs off, with its timer slot and restart hook.
        server: Any = self
        server.stop_accepting()
        server._timer = server.loop.timer(ACCEPT_PAUSE)
        server._timer.start(server._start_accepting_if_started)


def _refuse(sock: Any) -> None:
    """Answer 503 if the socket takes it at once (this runs in the hub: never wait)."""
    raw = getattr(sock, "_sock", None)
    try:
        if raw is not None:
            raw.send(BUSY_RESPONSE)
    except OSError:
        pass
    finally:
        sock.close()
