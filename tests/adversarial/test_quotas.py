"""One logged-in user's quotas: invitations, the offline
store, channels nobody joined, and rate limits that outlive a re-login. Each attack runs
against a server process while a probe pair exchanges messages; the bounds are the
"Attacks tested" rows of docs/security.md."""

from __future__ import annotations

import time

import gevent
import pytest

from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import (
    AttributeOperationErr,
    InvitationApiCallErrCode,
    PeerMessageErrCode,
)
from rtm_actors.protocol.frames import (
    ChannelAttributesWrite,
    LoginOk,
    Reply,
    SendInvitation,
    SendPeerMessage,
    WireMessage,
)
from rtm_actors.protocol.wsframes import OP_TEXT
from rtm_actors.testing import end_round
from rtm_actors.testing.hostile import HostileSocket, client_frame

pytestmark = pytest.mark.integration

#: RSS growth allowed while one user runs into a quota (docs/security.md).
QUOTA_GROWTH_MIB = 30


class Attacker:
    """A raw logged-in websocket that sends request frames and reads their replies."""

    def __init__(self, sock: HostileSocket, user_id: str) -> None:
        self.sock = sock
        #: Frames read while sending, not yet looked at by ``codes``.
        self._read: list[object] = []
        assert "101" in sock.upgrade()
        sock.login(user_id)
        deadline = time.monotonic() + 5.0
        while not any(isinstance(f, LoginOk) for f in self._read):
            assert time.monotonic() < deadline, "no login_ok"
            self._take(0.2)
        self._read.clear()

    def send(self, frames: list[object], batch: int = 200) -> None:
        """Send the frames in batches, reading what arrives meanwhile."""
        for start in range(0, len(frames), batch):
            data = b"".join(client_frame(codec.encode(f)) for f in frames[start : start + batch])
            assert self.sock.send(data)
            self._take(0.0)
            end_round()

    def codes(self, count: int, timeout: float = 20.0) -> list[int]:
        """The codes of the next ``count`` replies, in arrival order."""
        replies: list[int] = []
        deadline = time.monotonic() + timeout
        while len(replies) < count and time.monotonic() < deadline:
            self._take(0.2)
            replies.extend(f.code for f in self._read if isinstance(f, Reply))
            self._read.clear()
        return replies

    def _take(self, timeout: float) -> None:
        """Read what comes within ``timeout``; keep its decoded text frames."""
        for opcode, payload in self.sock.read_frames(timeout):
            if opcode == OP_TEXT:
                self._read.append(codec.decode_server_frame(payload))


def test_an_invitation_flood_gets_the_rate_limit_and_the_live_cap(start_server, hostile, probe):
    """3,000 invitations with 8 KB content to offline callees: the rate limit (20 per
    5 s) and the live cap (32) take a few, the rest are answered ALREADY_END, and
    memory stays flat."""
    target = start_server()
    pair = probe(target)
    base = target.rss_mib()
    attacker = Attacker(hostile(target), "caller")
    content = "c" * 8000
    count = 3000
    attacker.send([SendInvitation(i, i, f"offline{i}", content) for i in range(1, count + 1)])
    codes = attacker.codes(count)
    assert len(codes) == count
    assert codes.count(InvitationApiCallErrCode.OK) <= 32
    assert set(codes) <= {InvitationApiCallErrCode.OK, InvitationApiCallErrCode.ALREADY_END}
    assert target.rss_mib() - base < QUOTA_GROWTH_MIB
    pair.stop().assert_healthy()


def test_live_invitations_per_caller_are_capped(start_server, hostile, probe):
    """With a generous rate, a caller still has at most ``max_live_invitations`` in flight."""
    target = start_server(invitation_rate=[10_000, 5.0], max_live_invitations=32)
    pair = probe(target)
    attacker = Attacker(hostile(target), "caller")
    attacker.send([SendInvitation(i, i, f"offline{i}", "c" * 100) for i in range(1, 201)])
    codes = attacker.codes(200)
    assert codes.count(InvitationApiCallErrCode.OK) == 32
    pair.stop().assert_healthy()


def test_the_offline_store_quota_per_sender(start_server, hostile, probe):
    """2,000 messages of 32 KB to different offline users: the sender's 2 MiB quota
    takes 64, the rest are answered TOO_OFTEN (never CACHED_BY_SERVER), memory flat."""
    target = start_server(message_rate=5000, offline_quota_per_sender=[1000, 2 * 1024 * 1024])
    pair = probe(target)
    base = target.rss_mib()
    attacker = Attacker(hostile(target), "hoarder")
    text = "m" * 32_000
    count = 2000
    attacker.send(
        [
            SendPeerMessage(i, f"offline{i}", WireMessage(i, 1, text), offline=True)
            for i in range(1, count + 1)
        ],
        batch=50,
    )
    codes = attacker.codes(count)
    assert len(codes) == count
    assert codes.count(PeerMessageErrCode.CACHED_BY_SERVER) == (2 * 1024 * 1024) // 32_000
    assert set(codes) == {PeerMessageErrCode.CACHED_BY_SERVER, PeerMessageErrCode.TOO_OFTEN}
    assert target.rss_mib() - base < QUOTA_GROWTH_MIB
    pair.stop().assert_healthy()


def test_attribute_writes_to_channels_nobody_joined_are_capped(start_server, hostile, probe):
    """Writes to 400 channels nobody joined: 50 channels are made (the app's cap), the
    other writes are answered TOO_OFTEN and start no channel."""
    target = start_server(attribute_write_rate=[10_000, 5.0], max_empty_channels_per_app=50)
    pair = probe(target)
    base = target.rss_mib()
    attacker = Attacker(hostile(target), "squatter")
    value = "v" * 8000
    writes = [
        ChannelAttributesWrite(i, f"empty{i}", "set", {"k1": value, "k2": value})
        for i in range(1, 401)
    ]
    attacker.send(writes, batch=50)
    codes = attacker.codes(len(writes))
    assert codes.count(AttributeOperationErr.OK) == 50
    assert codes.count(AttributeOperationErr.TOO_OFTEN) == 350
    assert target.rss_mib() - base < QUOTA_GROWTH_MIB
    pair.stop().assert_healthy()


def test_logging_in_again_does_not_reset_the_message_limit(start_server, hostile, probe):
    """Five logins of one user within the window, each sending the limit's worth:
    together they get the limit (200 per 10 s) once, not five times."""
    target = start_server(message_rate=200, message_rate_window=10.0)
    pair = probe(target)
    accepted = 0
    for login in range(5):
        attacker = Attacker(hostile(target), "relogger")
        frames = [
            SendPeerMessage(login * 1000 + i, "nobody", WireMessage(login * 1000 + i, 1, "x"))
            for i in range(200)
        ]
        attacker.send(frames)
        codes = attacker.codes(200, timeout=5.0)
        accepted += sum(1 for c in codes if c != PeerMessageErrCode.TOO_OFTEN)
        gevent.sleep(0.25)  # (real time: the server's login rate, 5 per user per second)
    assert accepted <= 200
    pair.stop().assert_healthy()
