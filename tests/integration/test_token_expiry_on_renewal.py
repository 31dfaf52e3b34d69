"""A session's expiry is its newest token's, whatever the token's format."""

from __future__ import annotations

import secrets
import time

import pytest

from rtm_actors import ConnectionChangeReason as Reason, ConnectionState as State
from rtm_actors.protocol.tokens import build_token_006, build_token_007
from rtm_actors.server import session as session_module
from rtm_actors.testing import running_server, settle

pytestmark = pytest.mark.integration

APP = "0123456789abcdef0123456789abcdef"
CERT = "fedcba9876543210fedcba9876543210"


def token_007(user_id: str, expire: int) -> str:
    salt = secrets.randbelow(10**8) + 1
    return build_token_007(APP, CERT, user_id, expire, issued_at=int(time.time()), salt=salt)


def token_006(user_id: str, privilege_expires_at: int) -> str:
    salt = secrets.randbelow(10**8) + 1
    ts = int(time.time()) + 86400
    return build_token_006(APP, CERT, user_id, privilege_expires_at, ts=ts, salt=salt)


@pytest.fixture
def secure_server():
    with running_server(server_options={"app_certificates": {APP: CERT}}, token_warning=1.0) as srv:
        yield srv


def test_renewing_a_007_session_with_a_006_token_keeps_an_expiry(secure_server, make_client):
    """A 4 s 007 session renewed with a 006 token whose privilege ends in 5 s is
    aborted with TOKEN_EXPIRED then, not kept alive for ever."""
    rtm, rec = make_client(secure_server.url, app_id=APP)
    rtm.login(token_007("gina", expire=4), "gina").get(timeout=5)
    renewed_at = time.time()
    assert rtm.renew_token(token_006("gina", int(renewed_at) + 5)).get(timeout=5) is not None
    rec.wait_for("on_connection_state_changed", lambda s, r: s is State.ABORTED, timeout=10)
    assert rec.calls("on_connection_state_changed")[-1] == (State.ABORTED, Reason.TOKEN_EXPIRED)
    assert time.time() - renewed_at >= 3.5  # the 006 token's expiry, not the login's


def test_a_006_token_without_a_privilege_expiry_lifts_the_expiry(
    secure_server, make_client, fake_clock
):
    """A 006 privilege of 0 means no expiry, as Agora: the renewed session stays."""
    rtm, rec = make_client(secure_server.url, app_id=APP)
    rtm.login(token_007("hank", expire=2), "hank").get(timeout=5)
    assert rtm.renew_token(token_006("hank", 0)).get(timeout=5) is not None
    fake_clock.advance(3.0)  # past the login token's expiry (2 s): its timers would fire
    settle()
    assert rtm.connection_state is State.CONNECTED
    assert rec.calls("on_token_expired") == []


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def bind(self, **context: object) -> _Recorder:
        return self

    def info(self, event: str, **fields: object) -> None:
        self.events.append((event, fields))

    warning = debug = error = info


def test_session_attached_logs_the_007_token_expiry(secure_server, make_client, monkeypatch):
    """The ``session_attached`` line names the 007 token's expiry (it said null)."""
    recorder = _Recorder()
    monkeypatch.setattr(session_module, "log", recorder)
    rtm, _ = make_client(secure_server.url, app_id=APP)
    before = int(time.time())
    rtm.login(token_007("ivan", expire=600), "ivan").get(timeout=5)
    attached = [f for e, f in recorder.events if e == "session_attached"]
    assert attached, recorder.events
    expires_at = attached[0]["token_expires_at"]
    assert isinstance(expires_at, int)
    assert before + 600 <= expires_at <= int(time.time()) + 600
