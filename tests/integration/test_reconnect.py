"""The client reconnects by itself and nothing accepted is lost or duplicated."""

from __future__ import annotations

import pytest

from rtm_actors import (
    ConnectionChangeReason as Reason,
    ConnectionState as State,
    PeerMessageErrCode,
    SendMessageOptions,
)
from rtm_actors.testing import CuttableProxy, running_server, wait_until

pytestmark = pytest.mark.integration


def texts(rec):
    return [msg.text for _, msg in rec.calls("on_message_received_from_peer")]


def test_client_reconnects_after_server_restart_and_an_outage_message_arrives_once(
    make_client, tmp_path
):
    """Server stopped and started on the same port: clients reconnect, and a message sent
    during the outage is delivered exactly once after it."""
    store = f"sqlite:///{tmp_path / 'rtm.db'}"
    with running_server(store=store) as first:
        port = first.port
        alice, alice_rec = make_client(first.url)
        bob, bob_rec = make_client(first.url)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
    # The server is down: alice notices, and sends while it is down.
    alice_rec.wait_for("on_connection_state_changed", lambda s, r: s is State.RECONNECTING)
    offline = SendMessageOptions(enable_offline_messaging=True)
    during = alice.send_message_to_peer(
        "bob", alice.create_message("sent during the outage"), offline
    )
    assert not during.done()
    with running_server(store=store, port=port):
        # Whoever reconnects first, the message is delivered (OK) or kept for bob (CACHED).
        assert during.get(timeout=10) in (
            PeerMessageErrCode.OK,
            PeerMessageErrCode.CACHED_BY_SERVER,
        )
        bob_rec.wait_for("on_connection_state_changed", lambda s, r: s is State.CONNECTED, count=2)
        alice_rec.wait_for(
            "on_connection_state_changed", lambda s, r: s is State.CONNECTED, count=2
        )
        bob_rec.wait_for("on_message_received_from_peer")
        assert (
            alice.send_message_to_peer("bob", alice.create_message("after")).get(5)
            is PeerMessageErrCode.OK
        )
        bob_rec.wait_for("on_message_received_from_peer", count=2)
        assert texts(bob_rec) == ["sent during the outage", "after"]
        assert bob.connection_state is State.CONNECTED
    # A reconnect is not a login: on_login_success fired once, state went through RECONNECTING.
    assert len(alice_rec.calls("on_login_success")) == 1
    assert (State.RECONNECTING, Reason.INTERRUPTED) in alice_rec.calls(
        "on_connection_state_changed"
    )
    assert alice_rec.calls("on_connection_state_changed")[-1] == (
        State.CONNECTED,
        Reason.LOGIN_SUCCESS,
    )


def test_offline_messages_survive_a_server_restart_with_sqlite(make_client, tmp_path):
    """Offline messages stored in SQLite are delivered after the server restarts."""
    store = f"sqlite:///{tmp_path / 'rtm.db'}"
    with running_server(store=store) as first:
        port = first.port
        alice, _ = make_client(first.url)
        alice.login(None, "alice").get(timeout=5)
        offline = SendMessageOptions(enable_offline_messaging=True)
        for text in ("one", "two"):
            code = alice.send_message_to_peer("bob", alice.create_message(text), offline).get(5)
            assert code is PeerMessageErrCode.CACHED_BY_SERVER
        alice.logout().get(timeout=5)
    with running_server(store=store, port=port) as second:
        bob, bob_rec = make_client(second.url)
        bob.login(None, "bob").get(timeout=5)
        bob_rec.wait_for("on_message_received_from_peer", count=2)
        got = bob_rec.calls("on_message_received_from_peer")
        assert [(p, m.text, m.is_offline_message) for p, m in got] == [
            ("alice", "one", True),
            ("alice", "two", True),
        ]


def test_a_dropped_link_resumes_the_session_within_the_grace_period(server, make_client):
    """A link cut under the client resumes the same server session: no state change if
    quick, pushes not yet acknowledged are re-sent, and the app sees each message once."""
    with CuttableProxy("127.0.0.1", server.port) as proxy:
        alice, _ = make_client(server.url)
        bob, bob_rec = make_client(proxy.url(), interrupt_after=5.0)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        directory = server.context.directory
        session_key = directory.lookup(("testapp", "bob")).session_key
        futures = []
        for round_ in range(5):
            futures += [
                alice.send_message_to_peer("bob", alice.create_message(f"m{round_}.{i}"))
                for i in range(20)
            ]
            wait_until(lambda: proxy.live == 1, timeout=5)
            assert proxy.cut() == 1  # the network drops mid-stream
        assert {f.get(timeout=10) for f in futures} == {PeerMessageErrCode.OK}
        bob_rec.wait_for("on_message_received_from_peer", count=100)
        assert texts(bob_rec) == [f"m{r}.{i}" for r in range(5) for i in range(20)]
        assert directory.lookup(("testapp", "bob")).session_key == session_key
        assert bob.connection_state is State.CONNECTED
        # Each drop was shorter than the interruption threshold: no state change at all.
        assert bob_rec.calls("on_connection_state_changed")[-1] == (
            State.CONNECTED,
            Reason.LOGIN_SUCCESS,
        )
        assert len(bob_rec.calls("on_connection_state_changed")) == 2


def test_session_ends_after_the_grace_period_and_pending_messages_are_stored(
    make_client,
):
    """When a client stays away past the grace period its session ends; unacknowledged
    messages sent with offline messaging are stored and reach its next login."""
    with running_server(grace_period=0.3) as srv:
        alice, _ = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        bob, bob_rec = make_client(srv.url)
        bob.login(None, "bob").get(timeout=5)
        bob.release()  # stops bob's actors without logging out: the link just dies
        wait_until(lambda: srv.context.directory.lookup(("testapp", "bob")) is None, timeout=5)
        code = alice.send_message_to_peer(
            "bob",
            alice.create_message("later"),
            SendMessageOptions(enable_offline_messaging=True),
        ).get(timeout=5)
        assert code is PeerMessageErrCode.CACHED_BY_SERVER
        bob2, bob2_rec = make_client(srv.url)
        bob2.login(None, "bob").get(timeout=5)
        bob2_rec.wait_for("on_message_received_from_peer")
        assert texts(bob2_rec) == ["later"]
        assert texts(bob_rec) == []
