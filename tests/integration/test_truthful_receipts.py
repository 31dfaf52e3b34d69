"""Receipts for a receiver that reads but never acknowledges.

Every receipt a sender gets must say what the server did: ``CACHED_BY_SERVER`` only
for a message the offline store kept, ``PEER_UNREACHABLE`` for one it did not keep,
and a cut-off receiver's session ends one grace period after its link was lost, with
every message it held settled.
"""

from __future__ import annotations

from typing import Any

import gevent
import gevent.event
import pytest

import rtm_actors as ra
from rtm_actors import PeerMessageErrCode, PeerOnlineState as S, SendMessageOptions
from rtm_actors.client.link import ClientLink
from rtm_actors.protocol import codec
from rtm_actors.protocol.frames import Login, LoginOk, PeerMessage
from rtm_actors.testing import running_server, settle, wait_until

pytestmark = pytest.mark.integration

OFFLINE = SendMessageOptions(enable_offline_messaging=True)
CACHED = PeerMessageErrCode.CACHED_BY_SERVER
NOT_KEPT = PeerMessageErrCode.PEER_UNREACHABLE


class _Hoarder:
    """A raw client that logs in and reads every push but never acknowledges one."""

    def __init__(self, url: str, user_id: str) -> None:
        self.pushed: list[str] = []
        self._logged_in = gevent.event.Event()
        self.link = ClientLink.open(url, timeout=5)
        self.link.start(self._on_frame, lambda _link: None)
        self.link.send(codec.encode(Login(1, "testapp", user_id)))
        assert self._logged_in.wait(5)

    def _on_frame(self, _link: ClientLink, frame: Any) -> None:
        if isinstance(frame, LoginOk):
            self._logged_in.set()
        elif isinstance(frame, PeerMessage):
            self.pushed.append(frame.message.text)

    def close(self) -> None:
        self.link.close()


def _login(make_client, url: str, user_id: str):
    rtm, rec = make_client(url)
    rtm.login(None, user_id).get(timeout=5)
    return rtm, rec


def _send(sender, text: str, options: SendMessageOptions) -> Any:
    return sender.send_message_to_peer("bob", sender.create_message(text), options)


def _code(future: Any) -> PeerMessageErrCode:
    """The receipt's code, whether the future succeeded or failed with it."""
    try:
        return future.get(timeout=5)
    except ra.RtmError as failed:
        return failed.code


def _fill_window(hoarder: _Hoarder, sender, count: int, options: SendMessageOptions) -> list:
    """Send ``count`` messages the hoarder reads and holds unacknowledged."""
    sent = [_send(sender, f"m{i}", options) for i in range(count)]
    wait_until(lambda: len(hoarder.pushed) == count, what="the pushes read")
    return sent


def _changes(rec) -> list[dict[str, S]]:
    return [dict(states) for (states,) in rec.calls("on_peers_online_status_changed")]


@pytest.mark.parametrize("options", [OFFLINE, SendMessageOptions()], ids=["offline", "online"])
def test_a_cut_off_receivers_senders_are_told_what_was_kept(make_client, options):
    """A receiver that never acknowledges is cut off at max_unacked (once). When its
    grace ends its held messages go to the store oldest first: CACHED_BY_SERVER
    exactly for the ones kept (up to the offline cap, only with offline messaging),
    PEER_UNREACHABLE for the rest and for those that came while it was cut off. Its
    next login gets exactly the cached ones."""
    with running_server(
        max_unacked=4, max_offline_messages=3, grace_period=0.5, idle_timeout=10.0
    ) as srv:
        alice, _ = _login(make_client, srv.url, "alice")
        hoarder = _Hoarder(srv.url, "bob")
        sent = _fill_window(hoarder, alice, 4, options)
        sent += [_send(alice, f"m{i}", options) for i in (4, 5)]  # no room: cut off

        codes = [_code(f) for f in sent]
        offline = options.enable_offline_messaging
        assert codes == ([CACHED] * 3 if offline else [NOT_KEPT] * 3) + [NOT_KEPT] * 3
        assert srv.context.stats.slow_consumers == 1
        hoarder.close()

        _, bob_rec = _login(make_client, srv.url, "bob")
        alice.send_message_to_peer("bob", alice.create_message("after")).get(timeout=5)
        bob_rec.wait_for("on_message_received_from_peer", count=4 if offline else 1)
        got = [
            (m.text, m.is_offline_message)
            for _, m in bob_rec.calls("on_message_received_from_peer")
        ]
        cached = [(f"m{i}", True) for i in range(3)] if offline else []
        assert got == [*cached, ("after", False)]


def test_grace_runs_from_the_link_loss_while_messages_keep_coming(make_client):
    """A slow consumer cut off while messages keep coming (one every fifth of its grace
    period) still ends one grace period after its link was lost: its watcher sees
    UNREACHABLE then OFFLINE, it counts as one slow consumer, and every message sent
    to it gets its receipt (the held ones cached, the later ones refused)."""
    with running_server(
        max_unacked=2, grace_period=1.0, unreachable_after=0.3, idle_timeout=10.0
    ) as srv:
        watcher, watched = _login(make_client, srv.url, "watcher")
        watcher.subscribe_peers_online_status(["bob"]).get(timeout=5)
        watched.wait_for("on_peers_online_status_changed")
        hoarder = _Hoarder(srv.url, "bob")
        watched.wait_for("on_peers_online_status_changed", count=2)
        alice, _ = _login(make_client, srv.url, "alice")
        sent = _fill_window(hoarder, alice, 2, OFFLINE)

        def bob_offline() -> bool:
            return {"bob": S.OFFLINE} in _changes(watched)[2:]

        # Six grace periods of traffic: the session must end well within them.
        for i in range(2, 32):
            if bob_offline():
                break
            sent.append(_send(alice, f"m{i}", OFFLINE))
            gevent.sleep(0.2)  # (real time: the traffic spans the grace periods under test)

        assert _changes(watched) == [
            {"bob": S.OFFLINE},
            {"bob": S.ONLINE},
            {"bob": S.UNREACHABLE},
            {"bob": S.OFFLINE},
        ]
        codes = [_code(f) for f in sent]
        assert codes[:2] == [CACHED, CACHED]
        assert set(codes[2:]) == {NOT_KEPT}
        assert srv.context.stats.slow_consumers == 1
        hoarder.close()


def test_a_message_refused_for_a_full_store_can_be_retried(make_client):
    """PEER_UNREACHABLE is not remembered as the message's outcome: once the receiver is
    back, re-sending the same message (same id) delivers it, once."""
    with running_server(max_offline_messages=1) as srv:
        alice, _ = _login(make_client, srv.url, "alice")
        kept, refused = alice.create_message("kept"), alice.create_message("refused")
        assert alice.send_message_to_peer("bob", kept, OFFLINE).get(timeout=5) is CACHED
        assert _code(alice.send_message_to_peer("bob", refused, OFFLINE)) is NOT_KEPT

        _, bob_rec = _login(make_client, srv.url, "bob")
        ok = PeerMessageErrCode.OK
        assert alice.send_message_to_peer("bob", refused, OFFLINE).get(timeout=5) is ok
        assert alice.send_message_to_peer("bob", refused, OFFLINE).get(timeout=5) is ok
        alice.send_message_to_peer("bob", alice.create_message("marker")).get(timeout=5)
        bob_rec.wait_for("on_message_received_from_peer", count=3)
        got = [m.text for _, m in bob_rec.calls("on_message_received_from_peer")]
        assert got == ["kept", "refused", "marker"]


def test_the_window_is_bounded_in_bytes_too(make_client):
    """A hoarder that reads 32 KB messages and never acknowledges is cut off once its
    session holds ``max_unacked_bytes`` (100 KB here: three messages), far below
    ``max_unacked`` pushes; what it has no room for is refused at once, not held."""
    config = {"max_unacked": 2000, "max_unacked_bytes": 100_000, "grace_period": 30.0}
    with running_server(**config) as srv:
        hoarder = _Hoarder(srv.url, "bob")
        alice, _ = _login(make_client, srv.url, "alice")
        text = "x" * 32_000
        sent = [alice.send_message_to_peer("bob", alice.create_message(text)) for _ in range(6)]
        wait_until(lambda: sum(f.done() for f in sent) == 3, what="three refused")
        wait_until(lambda: srv.context.stats.slow_consumers >= 1, what="the hoarder cut off")
        settle()  # (a fourth answer, in this process, would be in by now)
        assert [_code(f) for f in sent if f.done()] == [NOT_KEPT] * 3
        assert len(hoarder.pushed) == 3  # held for a resume within the grace period
        assert srv.context.stats.slow_consumers == 1
        hoarder.close()
