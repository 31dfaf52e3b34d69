"""``RtmClient``: a real ``RtmService`` whose calls and deliveries are Locust requests.

Each measured call blocks its Locust user until the SDK's future resolves (Locust's
model: a task is a sequence of requests) and fires ``events.request`` with the call's
name, its latency and, on failure, an ``RtmCallError`` naming the Agora code.
Messages carry the load tool's stamp (``sender/seq/sent_us/``), so the receiving user
reports the end-to-end delivery time as a request of type ``delivery`` and the ledger
counts every stream's acknowledged and delivered sequence numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import gevent.event

from rtm_actors.client.config import ClientConfig
from rtm_actors.client.handlers import (
    ChannelEventHandler,
    RtmCallEventHandler,
    RtmServiceEventHandler,
)
from rtm_actors.client.service import AgoraService, RtmService
from rtm_actors.client.values import Message
from rtm_actors.errors import RtmError
from rtm_actors.loadtest.stats import (
    CHANNEL_STREAM,
    INVITE_STREAM,
    PEER_STREAM,
    error_name,
    member_key,
    parse_stamp,
    stamp,
    stream_key,
)
from rtm_actors.loadtest.tally import Ledger
from rtm_actors.protocol.codes import InvitationApiCallErrCode

if TYPE_CHECKING:
    #: How an invitation round trip ended: None (accepted) or the failure.
    _Outcome = gevent.event.AsyncResult[Exception | None]

#: Request types: SDK calls, and end-to-end deliveries reported by the receiver.
RTM = "rtm"
DELIVERY = "delivery"
#: Names of the delivery requests, by stream kind.
DELIVERY_NAMES = {PEER_STREAM: "peer", CHANNEL_STREAM: "channel", INVITE_STREAM: "invitation"}
#: Seconds a measured call may take before it fails as ``RtmTimeoutError``.
CALL_TIMEOUT = 30.0


class RtmCallError(Exception):
    """A measured SDK call failed; Locust groups failures by this text.

    Attributes:
        code: the Agora error code (None for a timeout or an exception).
    """

    def __init__(self, what: str, code: IntEnum | None = None) -> None:
        text = f"{error_name(code)} ({int(code)})" if code is not None else what
        super().__init__(text)
        self.code = code


class RtmClient:
    """One Locust user's SDK client, measured.

    Args:
        agora: the process's ``AgoraService``.
        url: the server (Locust's ``--host``).
        app_id: the app id to log in with.
        user_id: the user id to log in as.
        fire: Locust's ``events.request.fire``.
        ledger: the process's loss and duplicate ledger.
        message_size: characters per message (the stamp plus padding).
        config: the SDK settings, one object shared by the process's users (None:
            Agora's defaults, made for this client).
    """

    def __init__(
        self,
        agora: AgoraService,
        url: str,
        app_id: str,
        user_id: str,
        fire: Callable[..., Any],
        ledger: Ledger,
        message_size: int = 64,
        config: ClientConfig | None = None,
    ) -> None:
        self.user_id = user_id
        self._fire = fire
        self._ledger = ledger
        self._message_size = message_size
        #: The real SDK client: call anything on it (``measure`` reports the call).
        self.service: RtmService = agora.create_rtm_service()
        self.service.initialize(app_id, _LocustServiceHandler(self), server_url=url, config=config)
        self._calls = self.service.get_rtm_call_manager(_LocustCallHandler(self))
        self.channels: dict[str, Any] = {}
        #: Invitation id -> (stream, seq, outcome of the round trip).
        self._invitations: dict[
            int, tuple[str, int, gevent.event.AsyncResult[Exception | None]]
        ] = {}

    # -- the measuring core -------------------------------------------------------------

    def measure(
        self, name: str, call: Callable[[], Any], timeout: float = CALL_TIMEOUT
    ) -> tuple[bool, Any]:
        """Run one SDK call that answers an ``RtmFuture``, wait for it and report it.

        Returns:
            ``(True, the future's value)``, or ``(False, None)`` when the call failed
            (reported to Locust as a failure with the Agora code).
        """
        started = time.perf_counter()
        try:
            value = call().get(timeout)
        except RtmError as exc:
            self.report(name, started, RtmCallError(type(exc).__name__, exc.code))
            return False, None
        self.report(name, started)
        return True, value

    def report(self, name: str, started: float, failure: Exception | None = None) -> None:
        """Tell Locust about one SDK call that began at ``started`` (``perf_counter``)."""
        self._fire(
            request_type=RTM,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=failure,
            context={"user_id": self.user_id},
        )

    # -- session -------------------------------------------------------------------------

    def login(self, token: str | None = None) -> bool:
        """Log in (reported as ``login``)."""
        return self.measure("login", lambda: self.service.login(token, self.user_id))[0]

    def logout(self) -> None:
        """Log out (reported as ``logout``) and stop the SDK's actors."""
        if self.service.is_logged_in():
            self.measure("logout", self.service.logout)
        for channel in self.channels.values():
            channel.release()
        self.channels.clear()
        self.service.release()

    # -- messages ------------------------------------------------------------------------

    def send_peer(self, peer_id: str) -> bool:
        """Send a stamped peer message and wait for the peer's SDK to have it."""
        if self._ledger.closed:
            return False
        stream = stream_key(PEER_STREAM, self.user_id, peer_id)
        seq, message = self._message(stream)
        sent, _ = self.measure(
            "send_message_to_peer", lambda: self.service.send_message_to_peer(peer_id, message)
        )
        return self._acked_if(sent, stream, seq)

    def send_channel(self, channel_id: str) -> bool:
        """Send a stamped message to a joined channel and wait for the server to take it."""
        channel = self.channels.get(channel_id)
        if channel is None or self._ledger.closed:
            return False
        stream = stream_key(CHANNEL_STREAM, self.user_id, channel_id)
        seq, message = self._message(stream)
        sent, _ = self.measure("channel.send_message", lambda: channel.send_message(message))
        return self._acked_if(sent, stream, seq)

    def join(self, channel_id: str) -> bool:
        """Join a channel (reported as ``channel.join``)."""
        channel = self.channels.get(channel_id) or self.service.create_channel(
            channel_id, _LocustChannelHandler(self, channel_id)
        )
        if channel is None:
            return False
        self.channels[channel_id] = channel
        if not self.measure("channel.join", channel.join)[0]:
            return False
        # Joined during the run: held only to the gaps between its first and last
        # delivery (Locust users come and go, there is no common start).
        self._ledger.stats.record_member(channel_id, self.user_id, full=False)
        return True

    # -- presence and attributes -------------------------------------------------------

    def query(self, peer_ids: Sequence[str]) -> Any:
        """Query peers' online status (``query_peers_online_status``); None on failure."""
        return self.measure(
            "query_peers_online_status",
            lambda: self.service.query_peers_online_status(list(peer_ids)),
        )[1]

    def subscribe(self, peer_ids: Sequence[str]) -> bool:
        """Watch peers' online status (``subscribe_peers_online_status``)."""
        return self.measure(
            "subscribe_peers_online_status",
            lambda: self.service.subscribe_peers_online_status(list(peer_ids)),
        )[0]

    def set_attributes(self, attributes: Mapping[str, str]) -> bool:
        """Replace this user's attributes (``set_local_user_attributes``)."""
        return self.measure(
            "set_local_user_attributes",
            lambda: self.service.set_local_user_attributes(dict(attributes)),
        )[0]

    def get_attributes(self, user_id: str) -> dict[str, str] | None:
        """A user's attributes (``get_user_attributes``); None on failure."""
        answer: dict[str, str] | None = self.measure(
            "get_user_attributes", lambda: self.service.get_user_attributes(user_id)
        )[1]
        return answer

    # -- call invitations -----------------------------------------------------------------

    def invite(self, callee_id: str, timeout: float = CALL_TIMEOUT) -> bool:
        """Invite ``callee_id`` and wait until it accepts (the round trip: ``invitation``).

        The callee's ``RtmUser`` accepts every invitation; refused, canceled and failed
        invitations are failures with their code.
        """
        if self._calls is None or self._ledger.closed:
            return False
        stream = stream_key(INVITE_STREAM, self.user_id, callee_id)
        seq = self._ledger.next_seq(stream)
        invitation = self._calls.create_local_call_invitation(callee_id)
        invitation.content = stamp(self.user_id, seq, time.time())
        outcome: _Outcome = gevent.event.AsyncResult()
        self._invitations[invitation.invitation_id] = (stream, seq, outcome)
        started = time.perf_counter()
        self._ledger.stats.record_sent(time.time())
        code = self._calls.send_local_invitation(invitation)
        if code is not InvitationApiCallErrCode.OK:
            self._invitations.pop(invitation.invitation_id, None)
            self.report("invitation", started, RtmCallError("error", code))
            return False
        try:
            failure = outcome.get(timeout=timeout)
        except gevent.Timeout:
            failure = RtmCallError(f"no answer within {timeout:g} s")
        self._invitations.pop(invitation.invitation_id, None)
        self.report("invitation", started, failure)
        return failure is None

    # -- what the SDK's callbacks call -----------------------------------------------------

    def delivered(self, stream: str, key: str, text: str) -> None:
        """A stamped message of ``stream`` arrived here: report its end-to-end time."""
        stamped = parse_stamp(text)
        if stamped is None:
            return
        _, seq, sent_at = stamped
        now = time.time()
        if not self._ledger.stats.record_delivered(key, seq, sent_at, now):
            return  # a duplicate: counted in the ledger, not a second latency
        self._fire(
            request_type=DELIVERY,
            name=DELIVERY_NAMES[stream.split("/", 1)[0]],
            response_time=max(0.0, now - sent_at) * 1000,
            response_length=len(text),
            exception=None,
            context={"user_id": self.user_id},
        )

    def accept(self, invitation: Any) -> None:
        """An invitation arrived: count its delivery and accept it."""
        stream = stream_key(INVITE_STREAM, invitation.caller_id, self.user_id)
        self.delivered(stream, stream, invitation.content)
        if self._calls is not None:
            self._calls.accept_remote_invitation(invitation)

    def invitation_received(self, invitation: Any) -> None:
        """The callee's SDK has our invitation: it is acknowledged."""
        sent = self._invitations.get(invitation.invitation_id)
        if sent is not None:
            self._acked_if(True, sent[0], sent[1])

    def invitation_ended(self, invitation: Any, failure: Exception | None) -> None:
        """Our invitation was accepted (``failure`` None), refused, canceled or failed."""
        sent = self._invitations.get(invitation.invitation_id)
        if sent is not None:
            sent[2].set(failure)

    # -- bookkeeping -------------------------------------------------------------------------

    def _message(self, stream: str) -> tuple[int, Message]:
        seq = self._ledger.next_seq(stream)
        now = time.time()
        self._ledger.stats.record_sent(now)
        return seq, self.service.create_message(stamp(self.user_id, seq, now, self._message_size))

    def _acked_if(self, ok: bool, stream: str, seq: int) -> bool:
        if ok:
            self._ledger.stats.record_acked(stream, seq, time.time())
        return ok


# -- the SDK's callbacks, routed to the client -------------------------------------------


class _LocustServiceHandler(RtmServiceEventHandler):
    __slots__ = ("client",)

    def __init__(self, client: RtmClient) -> None:
        self.client = client

    def on_message_received_from_peer(self, peer_id: str, message: Message) -> None:
        stream = stream_key(PEER_STREAM, peer_id, self.client.user_id)
        self.client.delivered(stream, stream, message.text)


class _LocustChannelHandler(ChannelEventHandler):
    __slots__ = ("channel_id", "client")

    def __init__(self, client: RtmClient, channel_id: str) -> None:
        self.client = client
        self.channel_id = channel_id

    def on_message_received(self, user_id: str, message: Message) -> None:
        stream = stream_key(CHANNEL_STREAM, user_id, self.channel_id)
        self.client.delivered(stream, member_key(stream, self.client.user_id), message.text)


class _LocustCallHandler(RtmCallEventHandler):
    __slots__ = ("client",)

    def __init__(self, client: RtmClient) -> None:
        self.client = client

    def on_local_invitation_received_by_peer(self, local_invitation: Any) -> None:
        self.client.invitation_received(local_invitation)

    def on_local_invitation_accepted(self, local_invitation: Any, response: str) -> None:
        self.client.invitation_ended(local_invitation, None)

    def on_local_invitation_refused(self, local_invitation: Any, response: str) -> None:
        self.client.invitation_ended(local_invitation, RtmCallError("invitation refused"))

    def on_local_invitation_canceled(self, local_invitation: Any) -> None:
        self.client.invitation_ended(local_invitation, RtmCallError("invitation canceled"))

    def on_local_invitation_failure(self, local_invitation: Any, error_code: Any) -> None:
        self.client.invitation_ended(local_invitation, RtmCallError("error", error_code))

    def on_remote_invitation_received(self, remote_invitation: Any) -> None:
        self.client.accept(remote_invitation)
