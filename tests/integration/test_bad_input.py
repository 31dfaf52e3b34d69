"""Hostile or broken input gets an error frame or a coded close, never a crash."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import gevent.socket
import pytest

from rtm_actors import PeerMessageErrCode
from rtm_actors.client.link import ClientLink
from rtm_actors.protocol import codec
from rtm_actors.protocol.codes import DisconnectCode, LoginErrCode
from rtm_actors.protocol.frames import Error, Login, LoginOk, Ping, Pong, Reply
from rtm_actors.server import gateway, node, wsio
from rtm_actors.server.log_budget import PRE_LOGIN_LINES, LogBudget
from rtm_actors.testing import settle, wait_until

pytestmark = pytest.mark.integration


class RawClient:
    """A websocket that sends whatever a test wants and records what comes back."""

    def __init__(self, url: str) -> None:
        self.frames: list[object] = []
        self.closed = False
        self.link = ClientLink.open(url, timeout=5)
        self.link.start(on_frame=lambda _l, f: self.frames.append(f), on_closed=self._on_closed)

    def _on_closed(self, _link: ClientLink) -> None:
        self.closed = True

    def send_text(self, text: str) -> None:
        assert self.link.send(text.encode())

    def login(self, user_id: str = "raw") -> None:
        self.link.send(codec.encode(Login(1, "testapp", user_id)))
        wait_until(lambda: any(isinstance(f, LoginOk) for f in self.frames))

    def wait_frame(self, kind: type) -> object:
        wait_until(lambda: any(isinstance(f, kind) for f in self.frames))
        return next(f for f in self.frames if isinstance(f, kind))


def still_serves(server, logged_in) -> None:
    alice, _ = logged_in("alice")
    _, _bob_rec = logged_in("bob")
    assert (
        alice.send_message_to_peer("bob", alice.create_message("ok")).get(5)
        is PeerMessageErrCode.OK
    )


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "{}",
        '{"t": "nope"}',
        '{"t": "ping", "ts": "not a number"}',
        "[1,2,3]",
        '{"t":"ack"}',
    ],
)
def test_garbage_after_login_gets_an_error_frame_and_the_session_goes_on(server, logged_in, text):
    """Undecodable frames after login are answered with Error; the link stays usable."""
    raw = RawClient(server.url)
    raw.login()
    raw.send_text(text)
    error = raw.wait_frame(Error)
    assert error.code == DisconnectCode.PROTOCOL_ERROR
    raw.link.send(codec.encode(Ping(7.0)))
    assert raw.wait_frame(Pong) == Pong(7.0)
    assert not raw.closed
    still_serves(server, logged_in)


def test_a_frame_before_login_is_refused_with_a_coded_close(server, logged_in):
    """Anything but Login first gets an Error frame and close 3502."""
    raw = RawClient(server.url)
    raw.link.send(codec.encode(Ping(1.0)))
    wait_until(lambda: raw.closed)
    assert isinstance(raw.frames[0], Error)
    assert raw.link.close_code == DisconnectCode.PROTOCOL_ERROR
    still_serves(server, logged_in)


def test_garbage_first_frame_is_refused(server, logged_in):
    """Invalid JSON as the first frame: Error frame, close 3502."""
    raw = RawClient(server.url)
    raw.send_text("\x00\x01 definitely not json")
    wait_until(lambda: raw.closed)
    assert raw.link.close_code == DisconnectCode.PROTOCOL_ERROR
    still_serves(server, logged_in)


def test_oversize_frame_closes_with_message_too_big(server, logged_in):
    """A frame past the server's limit closes the link with 3505."""
    raw = RawClient(server.url)
    raw.login()
    raw.send_text('{"t":"ping","ts":1}' + " " * (260 * 1024))
    wait_until(lambda: raw.closed)
    assert raw.link.close_code == DisconnectCode.MESSAGE_TOO_BIG
    still_serves(server, logged_in)


def test_unknown_protocol_version_is_rejected(server):
    """A Login for a protocol version the server does not speak gets LOGIN_ERR_REJECTED."""
    raw = RawClient(server.url)
    raw.link.send(codec.encode(Login(1, "testapp", "alice", version=99)))
    assert raw.wait_frame(Reply) == Reply(1, LoginErrCode.REJECTED)


def test_bad_app_id_is_refused(server):
    """An app id with characters outside the allowed set gets INVALID_APP_ID."""
    raw = RawClient(server.url)
    raw.link.send(codec.encode(Login(1, "bad app id!", "alice")))
    assert raw.wait_frame(Reply) == Reply(1, LoginErrCode.INVALID_APP_ID)


def test_raw_garbage_bytes_on_the_socket_do_not_hurt_the_server(server, logged_in):
    """Non-HTTP bytes and a broken websocket frame are dropped without harm."""
    with gevent.socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"\xff\xfe\xfd garbage that is not http\r\n\r\n")
        sock.settimeout(2)
        with contextlib.suppress(OSError):
            sock.recv(1024)
    raw = RawClient(server.url)
    raw.login("raw2")
    raw.link._sock.sendall(b"\x8f\x85\x00\x00\x00\x00hello")
    wait_until(lambda: raw.closed)
    # Opcode 0xF is reserved: a websocket protocol error, RFC 6455's 1002.
    assert raw.link.close_code == wsio.CLOSE_PROTOCOL_ERROR
    still_serves(server, logged_in)


def test_non_websocket_request_gets_404(server):
    """Plain HTTP to the server gets a 404 explaining where to connect."""
    with gevent.socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 404")
    assert b"/rtm" in data


def test_a_crashed_session_is_cleaned_up_and_others_keep_working(server, logged_in, monkeypatch):
    """A session whose actor crashes is closed with a reconnectable code and unrouted; its
    client logs back in by itself, and other users are untouched."""
    from rtm_actors.server.session import SessionActor

    exploded = []
    original = SessionActor._on_ack

    def on_ack_with_a_bug(self, seq):
        if self.user_id == "bob" and not exploded:
            exploded.append(seq)
            raise RuntimeError("a bug in bob's session")
        return original(self, seq)

    monkeypatch.setattr(SessionActor, "_on_ack", on_ack_with_a_bug)
    alice, _ = logged_in("alice")
    _, _carol_rec = logged_in("carol")
    _, bob_rec = logged_in("bob")
    crashed = server.context.directory.lookup(("testapp", "bob"))
    alice.send_message_to_peer("bob", alice.create_message("trigger"))
    wait_until(lambda: exploded and not crashed.ref.is_alive())
    wait_until(lambda: server.context.directory.lookup(("testapp", "bob")) not in (None, crashed))
    assert (
        alice.send_message_to_peer("carol", alice.create_message("hi")).get(5)
        is PeerMessageErrCode.OK
    )
    assert (
        alice.send_message_to_peer("bob", alice.create_message("after")).get(5)
        is PeerMessageErrCode.OK
    )
    bob_rec.wait_for("on_message_received_from_peer", count=2)
    assert [m.text for _, m in bob_rec.calls("on_message_received_from_peer")] == [
        "trigger",
        "after",
    ]
    assert len(bob_rec.calls("on_login_success")) == 1
    assert server.context.supervisor.is_alive()


def test_unauthenticated_connections_are_capped_and_time_out():
    """Beyond the cap of sockets waiting to log in, the oldest is closed (3001) to make
    room for the newcomer; idle ones are closed at the login timeout (3009); a real user
    still gets in."""
    from rtm_actors.testing import running_server

    with running_server(max_unauthenticated=3, login_timeout=0.5) as srv:
        idle = [RawClient(srv.url) for _ in range(3)]
        extra = RawClient(srv.url)
        wait_until(lambda: idle[0].closed, timeout=5)
        assert idle[0].link.close_code == DisconnectCode.SHUTDOWN
        rest = [*idle[1:], extra]
        wait_until(lambda: all(c.closed for c in rest), timeout=5)
        assert {c.link.close_code for c in rest} == {DisconnectCode.STALE}
        ok = RawClient(srv.url)
        ok.login("latecomer")


@pytest.mark.parametrize(
    ("key", "version", "status"),
    [
        ("not base64!", "13", b"400"),
        ("c2hvcnQ=", "13", b"400"),
        ("dGhlIHNhbXBsZSBub25jZQ==", "12", b"426"),
    ],
    ids=["garbage key", "short key", "version 12"],
)
def test_a_bad_upgrade_gets_400_or_426_and_one_log_line(
    server, capfd, monkeypatch, key, version, status
):
    """A bad Sec-WebSocket-Key answers 400, a version other than 13 answers 426 naming
    13; the server logs one structlog line and no traceback."""
    request = (
        "GET /rtm HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    )
    logged: list[tuple[str, dict]] = []
    recorder = SimpleNamespace(info=lambda e, **kw: logged.append((e, kw)))
    monkeypatch.setattr(wsio, "UPGRADES_REFUSED", LogBudget(recorder, "upgrade_refused"))
    with gevent.socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request.encode())
        sock.settimeout(5)
        data = sock.recv(4096)
    settle()  # (the server is done with the request: a traceback would be out by now)
    assert data.startswith(b"HTTP/1.1 " + status), data
    if status == b"426":
        assert b"Sec-WebSocket-Version: 13\r\n" in data
    assert [event for event, _ in logged] == ["upgrade_refused"]
    assert "Traceback" not in capfd.readouterr().err


def _answer(port: int, request: bytes) -> bytes:
    with gevent.socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        sock.settimeout(5)
        return bytes(sock.recv(4096))


@pytest.mark.parametrize(
    ("module", "budget", "level", "request_bytes", "status"),
    [
        (
            wsio,
            "UPGRADES_REFUSED",
            "info",
            b"GET /rtm HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: nope\r\nSec-WebSocket-Version: 13\r\n\r\n",
            b"HTTP/1.1 400",
        ),
        (node, "HTTP_ERRORS", "warning", b"\x16\x03\x01 not http at all\r\n\r\n", b"HTTP/1.1 400"),
    ],
    ids=["bad upgrades", "garbled requests"],
)
def test_a_flood_of_bad_requests_writes_a_bounded_number_of_log_lines(
    server, monkeypatch, module, budget, level, request_bytes, status
):
    """200 bad requests from one client in a second: each is answered, but the server
    writes at most PRE_LOGIN_LINES lines for them per 10 s (each with its count), not
    200: a flood of connections must not become a flood of log lines."""
    lines: list[dict] = []
    recorder = SimpleNamespace(**{level: lambda e, **kw: lines.append({"event": e, **kw})})
    counted = LogBudget(recorder, budget.lower(), lines=PRE_LOGIN_LINES, level=level)
    monkeypatch.setattr(module, budget, counted)
    answers = [_answer(server.port, request_bytes) for _ in range(200)]
    assert all(a.startswith(status) for a in answers), answers[:3]
    wait_until(lambda: counted.total == 200, timeout=5)
    assert len(lines) == PRE_LOGIN_LINES
    assert all(line["count"] == 1 for line in lines)  # the first ones, in full


def _refused_login(url: str) -> None:
    raw = RawClient(url)
    raw.link.send(codec.encode(Login(1, "bad app id!", "mallory")))
    assert raw.wait_frame(Reply) == Reply(1, LoginErrCode.INVALID_APP_ID)
    wait_until(lambda: raw.closed)


def _broken_frame(url: str) -> None:
    raw = RawClient(url)
    raw.link._sock.sendall(b"\x8f\x85\x00\x00\x00\x00hello")  # reserved opcode 0xF
    wait_until(lambda: raw.closed)
    assert raw.link.close_code == wsio.CLOSE_PROTOCOL_ERROR


@pytest.mark.parametrize(
    ("budget", "attempt"),
    [("LOGINS_REFUSED", _refused_login), ("PROTOCOL_ERRORS", _broken_frame)],
    ids=["refused logins", "broken frames"],
)
def test_a_flood_of_bad_websockets_writes_a_bounded_number_of_log_lines(
    server, monkeypatch, budget, attempt
):
    """100 websockets that log in with a bad app id, or break RFC 6455 before login:
    each is refused or closed as before, but they write PRE_LOGIN_LINES lines, not 100."""
    lines: list[dict] = []
    recorder = SimpleNamespace(info=lambda e, **kw: lines.append({"event": e, **kw}))
    counted = LogBudget(recorder, budget.lower(), lines=PRE_LOGIN_LINES)
    monkeypatch.setattr(gateway, budget, counted)
    for _ in range(100):
        attempt(server.url)
    wait_until(lambda: counted.total == 100, timeout=5)
    assert len(lines) == PRE_LOGIN_LINES
