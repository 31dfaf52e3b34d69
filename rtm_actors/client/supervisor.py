"""``ConnectionSupervisor``: owns the websocket and drives the connection machine.

A thin shell around ``protocol.connection.ConnectionMachine``: it feeds the machine
link events, timer expiries and server frames, and carries out the effects the
machine returns (open or close the link, send login, start timers, tell the
application). Opening a link runs in a short-lived connector greenlet so the actor
never blocks on the network.
"""

from __future__ import annotations

import random
from typing import Any

import gevent

from rtm_actors.client import messages as cm
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.heartbeat import LinkHeartbeat
from rtm_actors.client.link import PING, ClientLink, LinkOpenError
from rtm_actors.client.sdk_log import SdkLogger, default_logger
from rtm_actors.protocol import codec, connection as c
from rtm_actors.protocol.codes import (
    ConnectionChangeReason,
    ConnectionState,
    DisconnectCode,
    LoginErrCode,
    LogoutErrCode,
    RenewTokenErrCode,
)
from rtm_actors.protocol.errors import ConnectionAbortedByServer
from rtm_actors.protocol.frames import Error, Kick, Login, LoginOk, Logout, Reply
from rtm_actors.runtime import GeventActor, NamedTimers, Ref, now, tell_or_run_inline
from rtm_actors.runtime.hub_relay import hub_relay

#: Close codes that end the session for good, and the reason Agora reports.
_TERMINAL_CLOSES = {
    DisconnectCode.REMOTE_LOGIN: ConnectionChangeReason.REMOTE_LOGIN,
    DisconnectCode.BANNED: ConnectionChangeReason.BANNED_BY_SERVER,
    DisconnectCode.TOKEN_EXPIRED: ConnectionChangeReason.TOKEN_EXPIRED,
}
LOGIN_RID = 0


class StateBox:
    """The connection state the facade reads (written only by the supervisor)."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = ConnectionState.DISCONNECTED


class ConnectionSupervisor(GeventActor):
    """One per ``RtmService``: the link, login, heartbeats and reconnects."""

    shutdown_tier = 5
    #: Taken inline (``runtime.actor``): timers from the process's relay,
    #: session frames and the link's end from the service's turn, the facade's login
    #: and logout, and the opening greenlet's news. A login is then no wake-up
    #: of this actor's greenlet. None of their turns blocks (opening a link and
    #: closing one after a logout run in greenlets of their own).
    inline_messages = frozenset(
        {
            cm.SupervisorTimerFired,
            cm.FrameFromServer,
            cm.ClientLinkClosed,
            cm.StartLogin,
            cm.StartLogout,
            cm.LinkOpened,
            cm.LinkOpenFailed,
        }
    )

    def __init__(
        self,
        app_id: str,
        server_url: str,
        handler: Any,
        dispatcher: Ref[cm.DispatcherMessage],
        service: Ref[cm.ServiceMessage],
        config: ClientConfig,
        state_box: StateBox,
        logger: Any = None,
    ) -> None:
        super().__init__()
        self._app_id = app_id
        #: Servers to try, in turn: a failed attempt moves on to the next (several
        #: nodes of one cluster; ``server_url`` may list them separated by commas).
        self._urls = split_urls(server_url)
        self._next_url = 0
        self._handler = handler
        self._dispatcher = dispatcher
        self._service = service
        self._config = config
        self._box = state_box
        self._machine = c.ConnectionMachine(config.timings, jitter=random.random)
        self._timers: NamedTimers[cm.SupervisorTimerFired] = NamedTimers(self.actor_ref)
        self._link: ClientLink | None = None
        self._heartbeat: LinkHeartbeat | None = None
        self._attempt = 0
        self._token = ""
        self._user_id = ""
        self._login_future: RtmFuture[None] | None = None
        self._logout_future: RtmFuture[None] | None = None
        self._logging_out: ClientLink | None = None
        #: The service's own logger (its log file and filter), else the process's.
        self._base_log: SdkLogger = logger if logger is not None else default_logger()
        self._log = self._base_log.bind(app_id=app_id)

    def on_receive(self, message: Any) -> None:
        machine = self._machine
        match message:
            case cm.FrameFromServer(link=link, frame=frame):
                if link is self._link:
                    self._on_frame(frame)
                if isinstance(frame, LoginOk):
                    # The state change and on_login_success are queued on the dispatcher
                    # now: what the server pushed after login_ok may go after them.
                    tell_or_run_inline(self._service, cm.LoginReported(link))
            case cm.SupervisorTimerFired(timer=timer):
                if self._link is not None:
                    machine.traffic_seen(self._link.last_rx)
                    machine.traffic_sent(self._link.last_tx)
                self._run(machine.timer_fired(timer, now()))
            case cm.LinkOpened(attempt=attempt, link=link):
                self._on_link_opened(attempt, link)
            case cm.LinkOpenFailed(attempt=attempt, error=error):
                if attempt == self._attempt:
                    self._next_url = (self._next_url + 1) % len(self._urls)
                    self._log.info("link_open_failed", error=error, attempt=machine.attempt)
                    self._run(machine.link_lost())
            case cm.LinkStuck(links=links):
                machine.link_stuck(links)  # (its ClientLinkClosed follows)
            case cm.ClientLinkClosed(link=link) if link is self._link:
                self._on_link_closed(link)
            case cm.LogoutFlushed(link=link) if link is self._logging_out:
                # The server has ended the session: now the logout is complete.
                self._logging_out = None
                self._logout_done()
            case cm.StartLogin(token=token, user_id=user_id, future=future):
                self._start_login(token, user_id, future)
            case cm.StartLogout(future=future):
                self._start_logout(future)
            case cm.RenewSessionToken(token=token, future=future):
                self._renew(token, future)
            case cm.Reconfigure(config=config, server_url=server_url):
                self._config = config
                machine.timings = config.timings
                if self._heartbeat is not None:
                    self._heartbeat.timings = config.timings
                if server_url:
                    self._urls, self._next_url = split_urls(server_url), 0
            case cm.Release():
                if machine.state is not ConnectionState.DISCONNECTED:
                    self._run(machine.logout())
                self.stop()

    # -- inputs ----------------------------------------------------------------

    def _start_login(self, token: str, user_id: str, future: Any) -> None:
        if self._machine.state is not ConnectionState.DISCONNECTED:
            self._fail_login(future, LoginErrCode.ALREADY_LOGGED_IN)
            return
        self._token = token
        self._user_id = user_id
        self._login_future = future
        self._log = self._base_log.bind(app_id=self._app_id, user_id=user_id)
        self._run(self._machine.login())

    def _start_logout(self, future: Any) -> None:
        if self._machine.state is ConnectionState.DISCONNECTED:
            future.fail(LogoutErrCode.USER_NOT_LOGGED_IN, "logout")
            self._callback("on_logout", LogoutErrCode.USER_NOT_LOGGED_IN)
            return
        self._logout_future = future
        self._run(self._machine.logout())

    def _renew(self, token: str, future: Any) -> None:
        if self._machine.state in (
            ConnectionState.DISCONNECTED,
            ConnectionState.ABORTED,
        ):
            future.fail(RenewTokenErrCode.USER_NOT_LOGGED_IN, "renew_token")
            self._callback("on_renew_token_result", token, RenewTokenErrCode.USER_NOT_LOGGED_IN)
            return
        self._token = token
        if not future.done():
            # (While connected the facade's request to the server settles it instead.)
            future.resolve(token)
            if self._machine.state is not ConnectionState.CONNECTED:
                self._callback("on_renew_token_result", token, RenewTokenErrCode.OK)
        self._run(self._machine.token_renewed())

    def _on_link_opened(self, attempt: int, link: ClientLink) -> None:
        if attempt != self._attempt or self._link is not None:
            link.close()  # a stale attempt (logout or a newer attempt came first)
            return
        self._link = link
        service = self._service
        # Through the process's relay: the link calls back on the hub, which may not run
        # the service's turn; the relay runs it inline, every link's in one wake-up.
        link.start_batched(
            on_frames=lambda lk, frames: hub_relay.put(service, cm.ServerFrames(lk, frames)),
            # Through the service too, so the end of the link comes after its last frames.
            on_closed=lambda lk: hub_relay.put(service, cm.ClientLinkClosed(lk)),
            drop_pongs=True,  # (a pong is traffic, which the link has noted already)
        )
        self._run(self._machine.link_opened(now()))

    def _on_link_closed(self, link: ClientLink) -> None:
        self._link = None
        reason = _TERMINAL_CLOSES.get(link.close_code)  # type: ignore[call-overload]
        if reason is not None:
            self._run(self._machine.kicked(reason))
        else:
            self._log.info("link_lost", close_code=link.close_code, why=link.close_reason)
            self._run(self._machine.link_lost())

    def _on_frame(self, frame: Any) -> None:
        machine = self._machine
        match frame:
            case LoginOk(session=session, resumed=resumed):
                self._run(machine.login_accepted(session, resumed=resumed, now=now()))
            case Reply(rid=rid, code=code) if rid == LOGIN_RID:
                self._run(machine.login_rejected(_login_code(code)))
            case Kick(reason=reason):
                if reason == ConnectionChangeReason.TOKEN_EXPIRED:
                    self._callback("on_token_expired")
                self._run(machine.kicked(ConnectionChangeReason(reason)))
            case Error(detail=detail):
                self._log.warning("server_error", detail=detail)

    # -- effects -----------------------------------------------------------------

    def _run(self, effects: list[c.Effect]) -> None:
        for effect in effects:
            self._apply(effect)

    def _apply(self, effect: c.Effect) -> None:
        match effect:
            case c.StateChanged(state=state, reason=reason):
                self._box.state = state
                # An abort ends the session for good: the one line an operator looks for.
                level = self._log.error if state is ConnectionState.ABORTED else self._log.info
                level("connection_state_changed", state=state.name, reason=reason.name)
                self._callback("on_connection_state_changed", state, reason)
            case c.OpenLink():
                self._attempt += 1
                gevent.spawn(self._open_link, self._attempt)
            case c.CloseLink():
                self._attempt += 1  # whatever is being opened is no longer wanted
                link, self._link = self._link, None
                if link is not None and link is self._logging_out:
                    # Let the server finish the logout and close first (bounded wait).
                    gevent.spawn(self._close_after_logout, link)
                elif link is not None:
                    link.close()
            case c.SendLogin(resume=resume):
                login = Login(LOGIN_RID, self._app_id, self._user_id, self._token, resume=resume)
                self._send(login)
            case c.SendLogout():
                self._send(Logout(LOGIN_RID))
                self._logging_out = self._link
            case c.SendPing():
                if self._link is not None:
                    self._link.send(PING)
            case c.StartTimer(timer=c.Timer.HEARTBEAT, delay=delay):
                self._start_heartbeat(delay)
            case c.CancelTimer(timer=c.Timer.HEARTBEAT):
                self._stop_heartbeat()
            case c.StartTimer(timer=timer, delay=delay):
                self._timers.start(timer, delay, cm.SupervisorTimerFired(timer))
            case c.CancelTimer(timer=timer):
                self._timers.cancel(timer)
            case c.LoginSucceeded():
                self._link_up()  # before the future resolves: order matters
                if self._login_future is not None:
                    self._login_future.resolve(None)
                    self._login_future = None
                self._callback("on_login_success")
            case c.LoginFailed(code=code):
                self._fail_login(self._login_future, code)
                self._login_future = None
            case c.LinkRestored(resumed=resumed):
                self._log.info("link_restored", resumed=resumed)
                self._link_up()
            case c.LinkDown():
                tell_or_run_inline(self._service, cm.HoldRequests())
            case c.TokenExpired():
                self._callback("on_token_expired")
            case c.LoggedOut(reason=reason):
                tell_or_run_inline(self._service, cm.SessionEnded(reason))
                self._settle_logout(reason)

    def _start_heartbeat(self, delay: float) -> None:
        """Run the link's heartbeat on the hub (``client.heartbeat``); a silent link comes
        back here as the heartbeat timer, for the machine to end it."""
        link = self._link
        if link is None:
            return
        beat = self._heartbeat
        if beat is None or beat.link is not link:
            self._stop_heartbeat()
            me, fired = self.actor_ref, cm.SupervisorTimerFired(c.Timer.HEARTBEAT)
            beat = self._heartbeat = LinkHeartbeat(
                link, self._config.timings, lambda: hub_relay.put(me, fired)
            )
        beat.start(delay)

    def _stop_heartbeat(self) -> None:
        beat, self._heartbeat = self._heartbeat, None
        if beat is not None:
            beat.stop()

    def _logout_done(self) -> None:
        if self._logout_future is not None:
            self._logout_future.resolve(None)
            self._logout_future = None
        self._callback("on_logout", LogoutErrCode.OK)

    def _link_up(self) -> None:
        if self._link is not None:
            tell_or_run_inline(self._service, cm.LinkUp(self._link))

    def _close_after_logout(self, link: ClientLink) -> None:
        link.wait_ended(self._config.timings.logout_wait)
        link.close()
        tell_or_run_inline(self.actor_ref, cm.LogoutFlushed(link))

    def _settle_logout(self, reason: ConnectionChangeReason) -> None:
        if reason is ConnectionChangeReason.LOGOUT and self._logging_out is None:
            self._logout_done()
        if self._login_future is not None:
            error = ConnectionAbortedByServer(f"session ended: {reason.name}", reason)
            self._login_future.fail_with(error)
            self._login_future = None

    def _fail_login(self, future: Any, code: LoginErrCode) -> None:
        self._log.error("login_failed", code=code.name)
        if future is not None:
            future.fail(code, "login")
        self._callback("on_login_failure", code)

    def _send(self, frame: Any) -> None:
        if self._link is not None:
            self._link.send(codec.encode(frame))

    def _callback(self, method: str, *args: Any) -> None:
        tell_or_run_inline(self._dispatcher, cm.Callback(self._handler, method, args))

    def _open_link(self, attempt: int) -> None:
        # Runs in its own short greenlet: connecting may take a while.
        try:
            config = self._config
            url = self._urls[self._next_url % len(self._urls)]
            link = ClientLink.open(url, config.timings.attempt_timeout, config.ssl_cafile)
        except LinkOpenError as exc:
            tell_or_run_inline(self.actor_ref, cm.LinkOpenFailed(attempt, str(exc)))
            return
        if not tell_or_run_inline(self.actor_ref, cm.LinkOpened(attempt, link)):
            link.close()

    def on_stop(self) -> None:
        self._timers.cancel_all()
        self._stop_heartbeat()
        if self._link is not None:
            self._link.close()
            self._link = None


def split_urls(server_url: str) -> list[str]:
    """``"ws://a/rtm, ws://b/rtm"`` -> the URLs, in order (at least one)."""
    return [u.strip() for u in server_url.split(",") if u.strip()] or [server_url]


def _login_code(code: int) -> LoginErrCode:
    try:
        return LoginErrCode(code)
    except ValueError:
        return LoginErrCode.UNKNOWN
