"""Login and logout against a real server over real websockets."""

from __future__ import annotations

import socket

import gevent
import pytest

import rtm_actors as ra
from rtm_actors import ConnectionChangeReason as Reason, ConnectionState as State, LoginErrCode
from rtm_actors.client.link import ClientLink
from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import DisconnectCode
from rtm_actors.protocol.frames import Login, Reply
from rtm_actors.testing import wait_until

pytestmark = pytest.mark.integration


def test_login_then_logout_reports_states_and_callbacks(server, make_client):
    """login: CONNECTING/LOGIN, CONNECTED/LOGIN_SUCCESS, on_login_success; logout: DISCONNECTED."""
    rtm, rec = make_client(server.url)
    assert rtm.login("any-token", "alice").get(timeout=5) is None
    rec.wait_for("on_login_success")
    assert rtm.connection_state is State.CONNECTED
    assert rtm.logout().get(timeout=5) is None
    rec.wait_for("on_logout")
    assert rec.calls("on_connection_state_changed") == [
        (State.CONNECTING, Reason.LOGIN),
        (State.CONNECTED, Reason.LOGIN_SUCCESS),
        (State.DISCONNECTED, Reason.LOGOUT),
    ]
    assert rec.calls("on_logout") == [(ra.LogoutErrCode.OK,)]
    assert rtm.connection_state is State.DISCONNECTED


@pytest.mark.parametrize("user_id", ["", "null", "x" * 65, "has/slash", "émile"])
def test_bad_user_id_fails_with_invalid_argument(server, make_client, user_id):
    """A user id Agora would refuse fails locally with LOGIN_ERR_INVALID_ARGUMENT."""
    rtm, rec = make_client(server.url)
    future = rtm.login(None, user_id)
    with pytest.raises(ra.RtmError) as caught:
        future.get(timeout=5)
    assert caught.value.code is LoginErrCode.INVALID_ARGUMENT
    assert rec.wait_for("on_login_failure") == [(LoginErrCode.INVALID_ARGUMENT,)]
    assert rtm.connection_state is State.DISCONNECTED


def test_server_refuses_a_bad_user_id_sent_by_a_raw_client(server):
    """The server checks ids itself: a raw Login with a bad id gets Reply(INVALID_ARGUMENT)."""
    got = []
    link = ClientLink.open(server.url, timeout=5)
    link.start(on_frame=lambda _l, f: got.append(f), on_closed=lambda _l: got.append("closed"))
    link.send(codec.encode(Login(1, "testapp", "bad/id")))
    wait_until(lambda: "closed" in got)
    assert got[0] == Reply(1, LoginErrCode.INVALID_ARGUMENT)
    assert link.close_code == DisconnectCode.LOGIN_FAILED


def test_login_twice_fails_with_already_logged_in(server, make_client):
    """A second login on a logged-in client fails with ALREADY_LOGGED_IN."""
    rtm, _ = make_client(server.url)
    rtm.login(None, "alice").get(timeout=5)
    with pytest.raises(ra.RtmError) as caught:
        rtm.login(None, "alice").get(timeout=5)
    assert caught.value.code is LoginErrCode.ALREADY_LOGGED_IN


def test_login_more_than_twice_a_second_is_too_often(server, make_client):
    """Agora allows two login calls per second per client; the third is TOO_OFTEN."""
    rtm, _ = make_client(server.url)
    rtm.login(None, "alice")
    rtm.login(None, "alice")
    with pytest.raises(ra.RtmError) as caught:
        rtm.login(None, "alice").get(timeout=5)
    assert caught.value.code is LoginErrCode.TOO_OFTEN


def test_login_before_initialize_is_not_initialized():
    """login on an uninitialised service fails with NOT_INITIALIZED (101)."""
    rtm = ra.create_agora_service().create_rtm_service()
    with pytest.raises(ra.RtmError) as caught:
        rtm.login(None, "alice").get(timeout=1)
    assert caught.value.code is LoginErrCode.NOT_INITIALIZED


def test_initialize_checks_app_id_handler_and_repeats():
    """initialize answers INVALID_APP_ID, INVALID_ARGUMENT and ALREADY_INITIALIZED."""
    agora = ra.create_agora_service()
    assert agora.initialize() == 0
    rtm = agora.create_rtm_service()
    assert rtm.initialize("", ra.RtmServiceEventHandler()) == ra.InitErrCode.INVALID_APP_ID
    assert (
        rtm.initialize("app id with spaces", ra.RtmServiceEventHandler())
        == ra.InitErrCode.INVALID_APP_ID
    )
    assert rtm.initialize("testapp", None) == ra.InitErrCode.INVALID_ARGUMENT
    assert rtm.initialize("testapp", ra.RtmServiceEventHandler()) == 0
    assert (
        rtm.initialize("testapp", ra.RtmServiceEventHandler()) == ra.InitErrCode.ALREADY_INITIALIZED
    )
    agora.release()


def test_logout_when_not_logged_in_is_user_not_logged_in(server, make_client):
    """logout before login fails with LOGOUT_ERR_USER_NOT_LOGGED_IN (102)."""
    rtm, rec = make_client(server.url)
    with pytest.raises(ra.RtmError) as caught:
        rtm.logout().get(timeout=5)
    assert caught.value.code is ra.LogoutErrCode.USER_NOT_LOGGED_IN
    assert rec.wait_for("on_logout") == [(ra.LogoutErrCode.USER_NOT_LOGGED_IN,)]


def test_login_to_a_dead_server_times_out(make_client):
    """With nothing listening, login fails with TIMEOUT after the login timeout."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rtm, rec = make_client(f"ws://127.0.0.1:{port}/rtm")
    with pytest.raises(ra.RtmError) as caught:
        rtm.login(None, "alice").get(timeout=10)
    assert caught.value.code is LoginErrCode.TIMEOUT
    assert rec.calls("on_connection_state_changed")[-1] == (
        State.DISCONNECTED,
        Reason.LOGIN_TIMEOUT,
    )


def test_remote_login_aborts_the_first_client(server, make_client):
    """The newest login of a user id wins; the first gets ABORTED/REMOTE_LOGIN and must log out."""
    first, first_rec = make_client(server.url)
    second, _ = make_client(server.url)
    first.login(None, "alice").get(timeout=5)
    second.login(None, "alice").get(timeout=5)
    first_rec.wait_for("on_connection_state_changed", lambda s, r: s is State.ABORTED)
    assert first.connection_state is State.ABORTED
    assert first_rec.calls("on_connection_state_changed")[-1] == (
        State.ABORTED,
        Reason.REMOTE_LOGIN,
    )
    with pytest.raises(ra.RtmError) as caught:
        first.login(None, "alice").get(timeout=5)
    assert caught.value.code is LoginErrCode.ALREADY_LOGGED_IN
    first.logout().get(timeout=5)
    assert first.connection_state is State.DISCONNECTED
    assert second.connection_state is State.CONNECTED


def test_a_login_right_after_the_loop_was_held_does_not_time_out_at_once(server, make_client):
    """An app that blocks the loop (start-up work) and then logs in gets its login, not
    an instant LOGIN_ERR_TIMEOUT from a timer counted from the loop's stale clock.
    (Real time: holding the loop is the point.)"""
    import time

    rtm, _ = make_client(server.url, login_timeout=1.0)
    gevent.sleep(0.01)  # a loop iteration that reads the clock
    time.sleep(1.5)  # longer than the login timeout
    rtm.login(None, "alice").get(timeout=5)
    assert rtm.connection_state is State.CONNECTED


def test_a_message_sent_right_after_the_loop_was_held_does_not_time_out_at_once(logged_in):
    """A request's deadline counts from the present: sent right after code held the
    loop longer than its timeout, a message is delivered and reported OK, not
    SENT_TIMEOUT at the next sweep. (Real time: holding the loop is the point.)"""
    import time

    alice, _ = logged_in("alice", peer_message_timeout=1.0)
    logged_in("bob")
    gevent.sleep(0.01)  # a loop iteration that reads the clock
    time.sleep(1.5)  # longer than the message timeout
    sent = alice.send_message_to_peer("bob", alice.create_message("late"))
    assert sent.get(timeout=5) is ra.PeerMessageErrCode.OK
