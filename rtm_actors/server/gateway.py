"""The websocket endpoint: one greenlet per connection reads, logs in, and feeds a session.

The gateway greenlet (the one gevent.pywsgi gives each request) reads and decodes
frames and tells them to the user's ``SessionActor``. A session idle at that moment
handles the frame there and then, as its own turn (an inline turn, see
``rtm_actors.runtime.actor``): a peer message then costs no greenlet switch. Frames
go out through the session's ``Link``, which keeps them in order whoever sends them
and writes each round's frames at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import gevent
import pykka
import structlog
from geventwebsocket.exceptions import ProtocolError as WsProtocolError

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import (
    ConnectionChangeReason,
    DisconnectCode,
    LoginErrCode,
)
from rtm_actors.protocol.errors import RemoteProtocolError
from rtm_actors.protocol.frames import PROTOCOL_VERSION, Error, Login, Reply
from rtm_actors.protocol.limits import is_valid_app_id, is_valid_user_id
from rtm_actors.runtime import Adopt, ChildSpec, now, tell_or_run_inline
from rtm_actors.server import messages as m, wsio
from rtm_actors.server.admin import AdminApp
from rtm_actors.server.admission import (
    CONNECTION_KEY,
    EVICTED,
    LOGIN_TIMEOUT,
    Admission,
    Connection,
    Cutoff,
    SocketPhase,
    default_max_connections,
)
from rtm_actors.server.directory import UserKey
from rtm_actors.server.link import Link, close_taken_over
from rtm_actors.server.log_budget import PRE_LOGIN_LINES, LogBudget
from rtm_actors.server.ops import OpsApp
from rtm_actors.server.services import GatewayServices
from rtm_actors.server.session import start_session
from rtm_actors.server.user_rates import LOGINS

if TYPE_CHECKING:
    from rtm_actors.server.directory import LocalSession

log = structlog.get_logger("rtm_actors.server.gateway")
#: Lines a client can cause before it is anyone (the process's, whichever node).
LOGINS_REFUSED = LogBudget(log, "login_refused", lines=PRE_LOGIN_LINES)
PROTOCOL_ERRORS = LogBudget(log, "websocket_protocol_error", lines=PRE_LOGIN_LINES)

StartResponse = Callable[..., Any]


class Gateway:
    """Turns websockets into logged-in sessions. ``__call__`` is a WSGI app."""

    def __init__(
        self,
        node: GatewayServices,
        path: str = "/rtm",
        admin: AdminApp | None = None,
        ops: OpsApp | None = None,
    ) -> None:
        self.node = node
        self.path = path
        self.admin = admin
        self.ops = ops
        cfg = node.config
        #: Sockets by phase, with their deadlines and caps (see ``admission``).
        self.admission = Admission(
            cfg.max_connections or default_max_connections(), cfg.max_unauthenticated
        )
        #: Logged-in links, for the idle sweep (and the greenlet sweeping, if any).
        self._links: set[Link] = set()
        self._sweeper: Any = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        ws = environ.get("wsgi.websocket")
        path = environ.get("PATH_INFO", "")
        if ws is None and self.admin is not None and path.startswith(self.path + "/admin/"):
            return self.admin(environ, start_response)
        if ws is None and self.ops is not None and path in self.ops.paths:
            return self.ops(environ, start_response)
        if ws is None or path != self.path:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"rtm_actors: connect a websocket to " + self.path.encode() + b"\n"]
        peer = f"{environ.get('REMOTE_ADDR', '?')}:{environ.get('REMOTE_PORT', '?')}"
        try:
            self.serve(ws, peer, environ.get(CONNECTION_KEY))
        finally:
            if not ws.closed:
                ws.closed = True
        return []

    def serve(self, ws: Any, peer: str, conn: Connection | None = None) -> None:
        """Run one websocket to its end: login, then the read loop. ``conn`` is its
        place in ``admission`` (None when mounted in another server: admitted here)."""
        cfg = self.node.config
        wsio.set_nodelay(ws, cfg.keepalive_timeout)
        link = Link(ws, peer, cfg.write_timeout, cfg.max_backlog, cfg.max_pending_bytes)
        reader = wsio.FrameReader(ws, cfg.max_frame_bytes, _ignore)
        conn = self._await_login(conn)
        if conn is None:
            link.close(DisconnectCode.SHUTDOWN, "server busy: too many connections")
            return
        try:
            login, rest = self._login_by_deadline(link, reader, conn)
            if login is not None:
                self._serve_session(link, reader, login, rest)
        finally:
            conn.close()

    def _login_by_deadline(
        self, link: Link, reader: wsio.FrameReader, conn: Connection
    ) -> tuple[Login | None, list[bytes]]:
        """The login, if it comes before the connection's deadline (or its eviction)."""
        try:
            login, rest = self._read_login(link, reader)
        except Cutoff as cutoff:
            link.close(cutoff.code, cutoff.reason)
            return None, []
        if login is not None and not conn.logged_in():
            link.close(EVICTED.code, EVICTED.reason)  # cut off just as its login came in
            return None, []
        return login, rest

    def _await_login(self, conn: Connection | None) -> Connection | None:
        """Start the login deadline (absolute: a socket cannot re-arm it by sending)."""
        timeout = self.node.config.login_timeout
        if conn is None:
            return self.admission.admit(
                gevent.getcurrent(), SocketPhase.LOGIN, timeout, LOGIN_TIMEOUT
            )
        conn.await_login(timeout)
        return conn

    def _serve_session(
        self, link: Link, reader: wsio.FrameReader, login: Login, rest: list[bytes]
    ) -> None:
        session = self._open_session(link, login, time.perf_counter())
        if session is None:
            return
        # A link silent past the idle timeout is dead: one sweep checks them all
        # (a socket timeout would arm a timer at every read). Writes have their own
        # bound (Link.write_timeout: a slow consumer).
        self._links.add(link)
        if self._sweeper is None:
            self._sweeper = gevent.spawn(self._sweep)
        try:
            self._read_loop(link, reader, rest, session)
        finally:
            self._links.discard(link)

    def _sweep(self) -> None:
        """Expire links silent past the idle timeout, while any link is logged in."""
        idle_timeout = self.node.config.idle_timeout
        interval = min(1.0, idle_timeout / 4)
        try:
            while self._links:
                gevent.sleep(interval)
                deadline = now() - idle_timeout
                for link in [k for k in self._links if k.last_rx < deadline]:
                    link.expire()
        finally:
            self._sweeper = None

    # -- login ---------------------------------------------------------------

    def _read_login(self, link: Link, reader: wsio.FrameReader) -> tuple[Login | None, list[bytes]]:
        """The first message, a ``Login``; and the messages read right behind it (they
        are handled once the session is attached)."""
        try:
            first, *rest = reader.read_batch()
            frame = codec.decode_client_frame(first, self.node.config.max_frame_bytes)
        except WsProtocolError as exc:  # an OSError: it must be caught first
            self._close_broken(link, exc)
            return None, []
        except (OSError, wsio.PeerClosedError):
            link.close(DisconnectCode.STALE, "no login")
            return None, []
        except (RemoteProtocolError, wsio.FrameTooBigError) as exc:
            self._refuse(link, None, DisconnectCode.PROTOCOL_ERROR, f"bad first frame: {exc}")
            return None, []
        if not isinstance(frame, Login):
            self._refuse(link, None, DisconnectCode.PROTOCOL_ERROR, "log in first")
            return None, []
        code = self._check_login(frame)
        if code is LoginErrCode.OK:
            token = self.node.tokens.check(frame.app_id, frame.user_id, frame.token)
            code = token.code
            link.token = token
        if code is not LoginErrCode.OK:
            self._refuse_login(link, frame, code)
            return None, []
        return frame, rest

    def _refuse_login(self, link: Link, login: Login, code: LoginErrCode) -> None:
        link.send(codec.encode(Reply(login.rid, code)))
        self.node.metrics.request_errors[(Login, int(code))] += 1
        LOGINS_REFUSED.note(
            app_id=login.app_id[:64],
            user_id=login.user_id[:64],
            code=code.name,
            peer=link.peer,
        )
        link.close(DisconnectCode.LOGIN_FAILED, code.name)

    def _check_login(self, frame: Login) -> LoginErrCode:
        if frame.version != PROTOCOL_VERSION:
            return LoginErrCode.REJECTED
        if not is_valid_app_id(frame.app_id):
            return LoginErrCode.INVALID_APP_ID
        if not is_valid_user_id(frame.user_id):
            return LoginErrCode.INVALID_ARGUMENT
        if (frame.app_id, frame.user_id) in self.node.bans:
            return LoginErrCode.REJECTED
        return LoginErrCode.OK

    def _login_allowed(self, key: UserKey) -> bool:
        """The per-user login rate (resuming a live session does not count); kept in
        the node's per-user registry, which forgets idle users without resetting
        anyone's limit."""
        return self.node.rates.allow(key, LOGINS, now())

    def _close_broken(self, link: Link, exc: WsProtocolError) -> None:
        """A frame RFC 6455 forbids: close 1002 at once, with no RTM frame."""
        self.node.stats.protocol_errors += 1
        PROTOCOL_ERRORS.note(detail=str(exc)[:100], peer=link.peer)
        link.close(wsio.CLOSE_PROTOCOL_ERROR, str(exc)[:100])

    def _refuse(self, link: Link, rid: int | None, code: DisconnectCode, detail: str) -> None:
        self.node.stats.protocol_errors += 1
        link.send(codec.encode(Error(code, detail, rid)))
        link.close(code, detail[:100])

    def _open_session(self, link: Link, login: Login, started: float) -> LocalSession | None:
        """Resume the user's session if the key matches, else start a fresh one."""
        key = (login.app_id, login.user_id)
        directory = self.node.directory
        current = directory.lookup(key)
        if (
            login.resume is not None
            and current is not None
            and current.session_key == login.resume
            and _resume(current.ref, link, login.rid)
        ):
            self.node.metrics.observe("login", time.perf_counter() - started)
            return current.ref
        if login.resume is not None and current is not None:
            # This device's session was taken over by a newer login of the same user
            # while it was away: the newer one wins, this one is told so.
            close_taken_over(link)
            return None
        if not self._login_allowed(key):
            self._refuse_login(link, login, LoginErrCode.TOO_OFTEN)
            return None
        session_key = secrets.token_urlsafe(16)
        node = self.node
        ref = start_session(
            node.supervisor, node.sessions, login.app_id, login.user_id, session_key
        )
        if node.supervisor is not None:
            tell_or_run_inline(node.supervisor, Adopt(ref, self._child_spec(ref, link, key)))
        replaced = directory.register(key, ref, session_key)
        if replaced is not None:
            tell_or_run_inline(
                replaced, m.KickSession(ConnectionChangeReason.REMOTE_LOGIN, successor=ref)
            )
        if node.claim is not None:
            # Across nodes: a session of this user on another node is kicked there.
            # (It must be ours before the session says the user is online.)
            node.claim(key, session_key)
        # The session, idle, takes this inline (here, in this greenlet) and answers
        # the login itself; what reached it meanwhile (a message, the unacknowledged
        # pushes of the session it replaces) waits in its window until this sends it.
        if not tell_or_run_inline(
            ref, m.Attach(link, login.rid, resumed=False, token=link.token, started=started)
        ):
            link.close(DisconnectCode.REMOTE_LOGIN, "REMOTE_LOGIN")  # it ended already
            return None
        self.node.stats.logins += 1
        return ref

    def _child_spec(self, ref: LocalSession, link: Link, key: UserKey) -> ChildSpec:
        directory = self.node.directory

        def cleanup(error: BaseException | None) -> None:
            # A crashed session must not leave a routable ghost or an open socket;
            # its client sees a reconnectable close and logs in again.
            if error is not None:
                directory.unregister(key, ref)
                link.close(DisconnectCode.INTERNAL_ERROR, "session failed")

        return ChildSpec(name=f"session:{key[1]}", on_exit=cleanup)

    # -- after login ---------------------------------------------------------

    def _read_loop(
        self, link: Link, reader: wsio.FrameReader, batch: list[bytes], session: LocalSession
    ) -> None:
        max_bytes = self.node.config.max_frame_bytes
        link_id = link.id

        def on_ping(payload: bytes) -> None:
            tell_or_run_inline(session, m.PingIn(link_id, payload))

        reader.on_ping = on_ping
        why = "closed"
        while True:
            if batch:
                link.last_rx = now()
                received_at = time.perf_counter()
                for data in batch:
                    try:
                        frame = codec.decode_client_frame(data, max_bytes)
                    except RemoteProtocolError as exc:
                        tell_or_run_inline(session, m.BadFrame(link_id, str(exc)[:200]))
                        continue
                    tell_or_run_inline(session, m.FrameIn(link_id, frame, received_at))
            try:
                batch = reader.read_batch()
            except wsio.PeerClosedError:
                if link.idle:
                    why = "idle timeout"
                break
            except WsProtocolError as exc:  # an OSError: it must be caught first
                why = f"websocket protocol error: {exc}"
                self._close_broken(link, exc)
                break
            except TimeoutError:
                why = "idle timeout"
                break
            except OSError as exc:
                why = "slow consumer" if link.stalled else f"socket error: {exc.__class__.__name__}"
                break
            except wsio.FrameTooBigError:
                why = "frame too big"
                link.close(DisconnectCode.MESSAGE_TOO_BIG, "frame too big")
                break
        if link.stalled:
            why = "slow consumer"
        # Wait until the session has taken note: it may be inside a write on this
        # socket, and the socket must not be closed under a pending write. A failed
        # ask's exception, kept by its future, holds this frame (so the whole
        # connection) in a cycle until a rare full collection: not
        # asked when the session ended (a logout), cut when it ends meanwhile.
        if not session.is_alive():
            return
        try:
            session.ask(m.LinkClosed(link_id, why), timeout=self.node.config.write_timeout + 1.0)
        except (pykka.ActorDeadError, pykka.Timeout) as exc:
            exc.__traceback__ = None


def _resume(ref: LocalSession, link: Link, rid: int) -> bool:
    try:
        attach = m.Attach(link, rid, resumed=True, token=link.token)
        return bool(ref.ask(attach, timeout=10.0))
    except (pykka.ActorDeadError, pykka.Timeout):
        return False


def _ignore(_payload: bytes) -> None:
    """Before login nobody owns the socket's writes: pings then go unanswered."""
