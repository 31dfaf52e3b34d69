"""A load client that is our SDK: one real ``RtmService`` per user, driven like the rest.

The lean ``RtmLoadClient`` keeps only what the protocol asks of a client, so it is the
load's ceiling; this one is what an application's users run (actors, supervisor,
reconnects, de-duplication, callbacks). Both answer the same ``LoadHandler`` calls, so
one workload drives either, and ``bench`` reports what the SDK costs per message
beside what the lean client costs.
"""

from __future__ import annotations

from rtm_actors.bench.handler import LoadHandler, stamp
from rtm_actors.bench.rtm_client import APP_ID, PATH
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.handlers import RtmServiceEventHandler
from rtm_actors.client.service import AgoraService, RtmService
from rtm_actors.client.values import Message
from rtm_actors.protocol.codes import ConnectionChangeReason, ConnectionState, PeerMessageErrCode

#: Seconds a login may take while hundreds log in at once.
LOGIN_TIMEOUT = 30.0


class SdkLoadClient:
    """One user as an ``RtmService``: ``connect`` logs in; the SDK reads and beats itself.

    A message's text is the bench's stamp with its number inserted after the send time,
    since the SDK gives a message its own id (the lean client sends the number as the id).

    Args:
        me: the user's index (what ``peer_received`` reports).
        user_id: the id to log in as.
        handler: the workload.
        pad: characters of text per message.
        agora: the factory every client of the run shares.
        config: the SDK settings (shared).
    """

    __slots__ = ("_agora", "_config", "_sent", "handler", "me", "pad", "rtm", "user_id")

    def __init__(
        self,
        me: int,
        user_id: str,
        handler: LoadHandler,
        pad: int = 64,
        *,
        agora: AgoraService,
        config: ClientConfig,
    ) -> None:
        self.me = me
        self.user_id = user_id
        self.handler = handler
        self.pad = pad
        self._agora = agora
        self._config = config
        self.rtm: RtmService | None = None
        #: Message id -> message number, until its receipt.
        self._sent: dict[int, int] = {}

    def connect(self, host: str, port: int) -> None:
        """Log in; return once logged in."""
        self.rtm = rtm = self._agora.create_rtm_service()
        url = f"ws://{host}:{port}{PATH}"
        rtm.initialize(APP_ID, _Callbacks(self), server_url=url, config=self._config)
        rtm.login(None, self.user_id).get(timeout=LOGIN_TIMEOUT)

    def start(self) -> None:
        """Nothing to start: the SDK reads from the moment it logs in."""

    def heartbeat(self) -> None:
        """Nothing to send: the SDK keeps its own heartbeat."""

    def close(self) -> None:
        """Log out and stop the SDK's actors."""
        if self.rtm is not None:
            self.rtm.release()

    def send_peer(self, peer_id: str, n: int, sent_ns: int) -> None:
        """Send message ``n`` to ``peer_id``; its receipt comes as a callback."""
        rtm = self.rtm
        assert rtm is not None
        message = rtm.create_message(stamp(sent_ns, self.pad).replace(" ", f" {n} ", 1))
        self._sent[message.message_id] = n
        rtm.send_message_to_peer(peer_id, message)

    def receipt(self, message_id: int, code: PeerMessageErrCode) -> None:
        """The SDK's ``on_send_message_result``: the workload's ``receipt``."""
        n = self._sent.pop(message_id, None)
        if n is not None:
            self.handler.receipt(self, n, code is PeerMessageErrCode.OK)

    def received(self, message: Message) -> None:
        """The SDK's ``on_message_received_from_peer``: the workload's ``peer_received``."""
        sent_ns, n, _ = message.text.split(" ", 2)
        self.handler.peer_received(self.me, int(n), int(sent_ns))


class _Callbacks(RtmServiceEventHandler):
    __slots__ = ("client",)

    def __init__(self, client: SdkLoadClient) -> None:
        self.client = client

    def on_send_message_result(self, message_id: int, error_code: PeerMessageErrCode) -> None:
        self.client.receipt(message_id, error_code)

    def on_message_received_from_peer(self, peer_id: str, message: Message) -> None:
        self.client.received(message)

    def on_connection_state_changed(
        self, state: ConnectionState, reason: ConnectionChangeReason
    ) -> None:
        if state in (ConnectionState.ABORTED, ConnectionState.RECONNECTING):
            self.client.handler.failed(self.client, f"connection {state.name} ({reason.name})")
