"""Token checks at login, expiry warnings, renewal and expiry on a real server."""

from __future__ import annotations

import secrets
import time

import pytest

import rtm_actors as ra
from rtm_actors import (
    ConnectionChangeReason as Reason,
    ConnectionState as State,
    LoginErrCode,
    RenewTokenErrCode,
)
from rtm_actors.protocol.tokens import build_token_007
from rtm_actors.testing import running_server

pytestmark = pytest.mark.integration

APP = "0123456789abcdef0123456789abcdef"
CERT = "fedcba9876543210fedcba9876543210"
OTHER_APP = "abcdef0123456789abcdef0123456789"
OTHER_CERT = "00112233445566778899aabbccddeeff"


def token(user_id, expire=3600, app=APP, cert=CERT, issued_at=None):
    issued = int(time.time()) if issued_at is None else issued_at
    return build_token_007(
        app, cert, user_id, expire, issued_at=issued, salt=secrets.randbelow(10**8) + 1
    )


@pytest.fixture
def secure_server():
    with running_server(
        server_options={"app_certificates": {APP: CERT, OTHER_APP: OTHER_CERT}}, token_warning=1.0
    ) as srv:
        yield srv


def login_code(make_client, url, user_id, tok, app=APP):
    rtm, rec = make_client(url, app_id=app)
    try:
        rtm.login(tok, user_id).get(timeout=5)
    except ra.RtmError as exc:
        return exc.code, rtm, rec
    return LoginErrCode.OK, rtm, rec


def test_valid_007_token_logs_in_and_bad_ones_are_refused(secure_server, make_client):
    """Right token: OK. Wrong user, wrong certificate, expired, garbage, unknown app: refused."""
    url = secure_server.url
    assert login_code(make_client, url, "alice", token("alice"))[0] is LoginErrCode.OK
    assert login_code(make_client, url, "bob", token("mallory"))[0] is LoginErrCode.INVALID_TOKEN
    wrong_cert = token("bob", cert=OTHER_CERT)
    assert login_code(make_client, url, "bob", wrong_cert)[0] is LoginErrCode.INVALID_TOKEN
    old = token("bob", expire=10, issued_at=int(time.time()) - 100)
    assert login_code(make_client, url, "bob", old)[0] is LoginErrCode.TOKEN_EXPIRED
    assert login_code(make_client, url, "bob", "007garbage")[0] is LoginErrCode.INVALID_TOKEN
    assert login_code(make_client, url, "bob", "")[0] is LoginErrCode.INVALID_TOKEN
    unknown = "ffffffffffffffffffffffffffffffff"
    code = login_code(make_client, url, "bob", token("bob", app=unknown), app=unknown)[0]
    assert code is LoginErrCode.INVALID_APP_ID


def test_legacy_006_token_from_agora_builder_logs_in(secure_server, make_client):
    """A token made by Agora's own PyPI builder (agora-token-builder) is accepted."""
    builder = pytest.importorskip("agora_token_builder")
    tok = builder.RtmTokenBuilder.buildToken(APP, CERT, "carol", 1, int(time.time()) + 3600)
    assert login_code(make_client, secure_server.url, "carol", tok)[0] is LoginErrCode.OK


def test_expiry_warning_renewal_and_expiry(secure_server, make_client):
    """A short token warns before expiry; renewing moves the expiry; when it finally
    expires the session is aborted with TOKEN_EXPIRED."""
    code, rtm, rec = login_code(make_client, secure_server.url, "dave", token("dave", expire=2))
    assert code is LoginErrCode.OK
    rec.wait_for("on_token_privilege_will_expire", timeout=5)
    assert rtm.renew_token(token("dave", expire=4)).get(timeout=5)
    assert rec.wait_for("on_renew_token_result")[0][1] is RenewTokenErrCode.OK
    time_renewed = time.time()
    rec.wait_for("on_token_expired", timeout=10)
    assert time.time() - time_renewed > 2.0  # the first expiry no longer applied
    rec.wait_for("on_connection_state_changed", lambda s, r: s is State.ABORTED)
    assert rec.calls("on_connection_state_changed")[-1] == (State.ABORTED, Reason.TOKEN_EXPIRED)


def test_renewal_with_a_bad_token_is_refused(secure_server, make_client):
    """renew_token with a token for someone else fails with INVALID_TOKEN."""
    code, rtm, _ = login_code(make_client, secure_server.url, "erin", token("erin"))
    assert code is LoginErrCode.OK
    with pytest.raises(ra.RtmError) as caught:
        rtm.renew_token(token("mallory")).get(timeout=5)
    assert caught.value.code is RenewTokenErrCode.INVALID_TOKEN


def test_users_of_two_apps_never_see_each_other(secure_server, make_client):
    """Same user names in two apps: messages, presence and channels stay within each app."""
    url = secure_server.url
    _, alice_a, _ = login_code(make_client, url, "alice", token("alice"))
    _, bob_b, bob_b_rec = login_code(
        make_client, url, "bob", token("bob", app=OTHER_APP, cert=OTHER_CERT), app=OTHER_APP
    )
    with pytest.raises(ra.RtmError) as caught:
        alice_a.send_message_to_peer("bob", alice_a.create_message("hi")).get(timeout=5)
    assert caught.value.code is ra.PeerMessageErrCode.PEER_UNREACHABLE
    assert alice_a.query_peers_online_status(["bob"]).get(timeout=5) == {
        "bob": ra.PeerOnlineState.OFFLINE
    }
    alice_a.create_channel("room", ra.ChannelEventHandler()).join().get(timeout=5)
    assert bob_b.get_channel_member_count(["room"]).get(timeout=5) == {"room": 0}
    assert bob_b_rec.calls("on_message_received_from_peer") == []


def test_token_expiring_while_reconnecting_waits_for_renewal(secure_server, make_client):
    """The token expires while the link is down: on_token_expired, the state stays
    RECONNECTING, and renew_token lets the SDK log back in by itself."""
    from rtm_actors.testing import CuttableProxy

    with CuttableProxy("127.0.0.1", secure_server.port) as proxy:
        # The first retry comes 2-4 s after the drop: after the 2 s token has expired.
        rtm, rec = make_client(proxy.url(), app_id=APP, backoff_min=4.0, backoff_max=4.0)
        rtm.login(token("frank", expire=2), "frank").get(timeout=5)
        proxy.cut()
        rec.wait_for("on_token_expired", timeout=10)
        assert rtm.connection_state is State.RECONNECTING
        assert rtm.renew_token(token("frank")).get(timeout=5) is not None
        rec.wait_for(
            "on_connection_state_changed", lambda s, r: s is State.CONNECTED, count=2, timeout=10
        )
        assert rtm.connection_state is State.CONNECTED
