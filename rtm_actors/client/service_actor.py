"""``RtmServiceActor``: the client's requests in flight and the pushes it receives.

Requests are kept until answered, so a request sent while the link is down, or
whose answer was lost with the link, goes out again once the link is back (the
server drops re-sent duplicates by message id). Pushes are acknowledged to the
server and de-duplicated by (sender, message id) before the application sees them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import structlog

from rtm_actors.client import messages as cm
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.dispatcher import Callback
from rtm_actors.client.futures import RtmFuture
from rtm_actors.client.link import ClientLink
from rtm_actors.client.values import Message
from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import ConnectionChangeReason, PeerMessageErrCode
from rtm_actors.protocol.flow import RecentIds
from rtm_actors.protocol.frames import (
    Ack,
    Error,
    Kick,
    LoginOk,
    PeerMessage,
    Reply,
    SendPeerMessage,
)
from rtm_actors.runtime import GeventActor, NamedTimers, now, try_tell

log = structlog.get_logger("rtm_actors.client")

_DELIVERED = (PeerMessageErrCode.OK, PeerMessageErrCode.CACHED_BY_SERVER)
_SWEEP_EVERY = 0.5


@dataclass(slots=True)
class PendingPeerMessage:
    """A peer message waiting for its delivery receipt."""

    message_id: int
    frame: bytes
    future: RtmFuture[Any]
    deadline: float


class RtmServiceActor(GeventActor):
    """One per ``RtmService``: requests in flight, received pushes, callbacks."""

    shutdown_tier = 10

    def __init__(self, handler: Any, dispatcher: Any, config: ClientConfig) -> None:
        super().__init__()
        self.supervisor_ref: Any = None
        self._handler = handler
        self._dispatcher = dispatcher
        self._config = config
        self._link: ClientLink | None = None
        self._rids = itertools.count(1)
        self._pending: dict[int, PendingPeerMessage] = {}
        self._seen: RecentIds[bool] = RecentIds(config.dedup_window)
        self._ack_link: ClientLink | None = None
        self._ack_due = 0
        self._acked = 0
        self._timers = NamedTimers(self.actor_ref)

    def on_receive(self, message: Any) -> None:
        match message:
            case cm.ServerFrame(link=link, frame=frame):
                self._on_frame(link, frame)
            case cm.SendPeer():
                self._send_peer(message)
            case cm.LinkUp(link=up):
                self._link = up
                for pending in self._pending.values():
                    up.send(pending.frame)
            case cm.LinkDown():
                self._link = None
            case cm.SessionEnded(reason=reason):
                self._session_ended(reason)
            case cm.SweepTimeouts():
                self._sweep()
            case cm.SetSupervisor(ref=ref):
                self.supervisor_ref = ref
        if self._ack_due > self._acked and self.actor_inbox.empty():
            # Acknowledge once per burst of pushes, not once per push.
            ack_link = self._ack_link
            if ack_link is not None and ack_link.send(codec.encode(Ack(self._ack_due))):
                self._acked = self._ack_due

    # -- requests ----------------------------------------------------------------

    def _send_peer(self, request: cm.SendPeer) -> None:
        rid = next(self._rids)
        frame = codec.encode(
            SendPeerMessage(
                rid,
                request.peer_id,
                request.message.to_wire(),
                offline=request.options.enable_offline_messaging,
            )
        )
        deadline = now() + self._config.peer_message_timeout
        self._pending[rid] = PendingPeerMessage(
            request.message.message_id, frame, request.future, deadline
        )
        if self._link is not None:
            self._link.send(frame)
        if not self._timers.is_running("sweep"):
            self._timers.start("sweep", _SWEEP_EVERY, cm.SweepTimeouts())

    def _on_reply(self, rid: int, code: int) -> None:
        pending = self._pending.pop(rid, None)
        if pending is None:
            return
        result = _peer_code(code)
        if result in _DELIVERED:
            pending.future.resolve(result)
        else:
            pending.future.fail(result, "send_message_to_peer")
        self._callback("on_send_message_result", pending.message_id, result)

    def _sweep(self) -> None:
        t = now()
        expired = [rid for rid, p in self._pending.items() if p.deadline <= t]
        for rid in expired:
            self._on_reply(rid, PeerMessageErrCode.SENT_TIMEOUT)
        if self._pending:
            self._timers.start("sweep", _SWEEP_EVERY, cm.SweepTimeouts())

    def _session_ended(self, reason: ConnectionChangeReason) -> None:
        self._link = None
        for rid in list(self._pending):
            self._on_reply(rid, PeerMessageErrCode.FAILURE)
        self._ack_link = None
        self._ack_due = self._acked = 0
        log.debug("session_ended", reason=reason.name)

    # -- pushes ------------------------------------------------------------------

    def _on_frame(self, link: ClientLink, frame: Any) -> None:
        match frame:
            case PeerMessage(seq=seq, peer_id=peer_id, message=wire, ts=ts, offline=offline):
                key = (peer_id, wire.id)
                if key not in self._seen:
                    self._seen.put(key, True)
                    message = Message.from_wire(wire, ts, offline=offline)
                    self._callback("on_message_received_from_peer", peer_id, message)
                if link is not self._ack_link:
                    self._ack_link = link
                self._ack_due = max(self._ack_due, seq)
            case Reply(rid=rid, code=code) if rid != 0:
                self._on_reply(rid, code)
            case LoginOk(resumed=resumed):
                if not resumed:
                    # A fresh server session numbers its pushes from 1 again.
                    self._ack_due = self._acked = 0
                self._ack_link = link
                self._forward(link, frame)
            case Reply() | Kick():
                self._forward(link, frame)
            case Error(rid=rid, detail=detail):
                log.warning("server_error", detail=detail, rid=rid)
                if rid is not None and rid in self._pending:
                    self._on_reply(rid, PeerMessageErrCode.FAILURE)
            case _:
                pass  # Pong: the link already noted the traffic

    def _forward(self, link: ClientLink, frame: Any) -> None:
        if self.supervisor_ref is not None:
            try_tell(self.supervisor_ref, cm.ServerFrame(link, frame))

    def _callback(self, method: str, *args: Any) -> None:
        try_tell(self._dispatcher, Callback(self._handler, method, args))

    def on_stop(self) -> None:
        self._timers.cancel_all()


def _peer_code(code: int) -> PeerMessageErrCode:
    try:
        return PeerMessageErrCode(code)
    except ValueError:
        return PeerMessageErrCode.FAILURE
