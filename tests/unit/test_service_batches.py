"""The service actor takes a read's frames in one inline turn: nothing of a session
reaches the handler before its login is reported, and a batch of pushes is
acknowledged once, before the teller's ``tell_or_run_inline`` returns (no greenlet woken)."""

from __future__ import annotations

import itertools
from typing import Any

from rtm_actors.client import messages as cm
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.service_actor import RtmServiceActor
from rtm_actors.protocol import codec
from rtm_actors.protocol.frames import Ack, LoginOk, PeerMessage, WireMessage
from rtm_actors.runtime import tell_or_run_inline


class FakeLink:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, payload: bytes) -> bool:
        self.sent.append(codec.decode_client_frame(payload))
        return True


class Tells:
    def __init__(self) -> None:
        self.told: list[Any] = []

    def tell(self, message: Any) -> None:
        self.told.append(message)


def push(seq: int) -> PeerMessage:
    return PeerMessage(seq, "bob", WireMessage(seq, text=f"m{seq}"), ts=1)


def test_a_batch_is_held_behind_its_login_then_acknowledged_once_inline():
    """Pushes after login_ok wait for LoginReported; then one Ack covers them all."""
    dispatcher = Tells()
    ref = RtmServiceActor.start(object(), dispatcher, ClientConfig(), itertools.count(1))
    try:
        link: Any = FakeLink()
        login = LoginOk(1, "s", server_ts=1)
        assert tell_or_run_inline(ref, cm.ServerFrames(link, [login, push(1), push(2), push(3)]))
        assert dispatcher.told == []  # held: the login is not reported yet
        assert tell_or_run_inline(ref, cm.LoginReported(link))
        callbacks = [c.method for c in dispatcher.told]
        assert callbacks == ["on_message_received_from_peer"] * 3
        assert link.sent == [Ack(3)]
    finally:
        ref.stop()
