"""Bans (Python API and HTTP), and TLS (wss://) with a self-signed certificate."""

from __future__ import annotations

import subprocess

import gevent.socket
import pytest

import rtm_actors as ra
from rtm_actors import ConnectionChangeReason as Reason, ConnectionState as State
from rtm_actors.runtime import now
from rtm_actors.testing import FakeClock, running_server

pytestmark = pytest.mark.integration


def test_ban_aborts_the_session_and_refuses_later_logins(server, make_client):
    """A banned user is ABORTED with BANNED_BY_SERVER and cannot log in again until unbanned."""
    rtm, rec = make_client(server.url)
    rtm.login(None, "mallory").get(timeout=5)
    server.ban("testapp", "mallory")
    rec.wait_for("on_connection_state_changed", lambda s, r: s is State.ABORTED)
    assert rec.calls("on_connection_state_changed")[-1] == (State.ABORTED, Reason.BANNED_BY_SERVER)
    rtm.logout().get(timeout=5)
    with pytest.raises(ra.RtmError) as caught:
        rtm.login(None, "mallory").get(timeout=5)
    assert caught.value.code is ra.LoginErrCode.REJECTED
    server.unban("testapp", "mallory")
    with FakeClock(start=now()) as clock:
        clock.advance(1.0)  # past the client's own login rate (2 per second)
        rtm.login(None, "mallory").get(timeout=5)


def http_post(port: int, path: str, body: bytes, token: str, scheme: str = "Bearer ") -> bytes:
    with gevent.socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {scheme}{token}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    return data


def test_ban_over_http_needs_the_admin_token(make_client):
    """POST /rtm/admin/ban bans with the right bearer token and is refused without it."""
    with running_server(server_options={"admin_token": "s3cret"}) as srv:
        rtm, rec = make_client(srv.url)
        rtm.login(None, "mallory").get(timeout=5)
        body = b'{"app_id": "testapp", "user_id": "mallory"}'
        assert http_post(srv.port, "/rtm/admin/ban", body, "wrong").startswith(b"HTTP/1.1 401")
        assert http_post(srv.port, "/rtm/admin/ban", b"{}", "s3cret").startswith(b"HTTP/1.1 400")
        assert http_post(srv.port, "/rtm/admin/ban", body, "s3cret").startswith(b"HTTP/1.1 200")
        rec.wait_for("on_connection_state_changed", lambda s, r: r is Reason.BANNED_BY_SERVER)


@pytest.mark.parametrize("scheme", ["", "bearer ", "Basic ", "Bearer  "])
def test_the_admin_token_counts_only_as_a_bearer_token(scheme):
    """The right token under any scheme but ``Bearer <token>`` exactly is refused (401)."""
    with running_server(server_options={"admin_token": "s3cret"}) as srv:
        body = b'{"app_id": "testapp", "user_id": "mallory"}'
        answer = http_post(srv.port, "/rtm/admin/ban", body, "s3cret", scheme=scheme)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:40]
        assert ("testapp", "mallory") not in srv.context.bans


@pytest.fixture
def self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)


def test_wss_with_a_self_signed_certificate(self_signed, make_client):
    """The server serves wss:// and the SDK connects, trusting the test's certificate."""
    cert, key = self_signed
    with running_server(server_options={"certfile": cert, "keyfile": key}) as srv:
        assert srv.url.startswith("wss://127.0.0.1:")
        alice, _ = make_client(srv.url, ssl_cafile=cert)
        bob, _ = make_client(srv.url, ssl_cafile=cert)
        alice.login(None, "alice").get(timeout=5)
        bob.login(None, "bob").get(timeout=5)
        code = alice.send_message_to_peer("bob", alice.create_message("over TLS")).get(timeout=5)
        assert code is ra.PeerMessageErrCode.OK
        untrusting, _ = make_client(srv.url)
        with pytest.raises(ra.RtmError) as caught:
            untrusting.login(None, "carol").get(timeout=10)
        assert caught.value.code is ra.LoginErrCode.TIMEOUT
