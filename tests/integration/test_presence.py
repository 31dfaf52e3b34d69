"""Online status queries and subscriptions on a real server."""

from __future__ import annotations

import pytest

import rtm_actors as ra
from rtm_actors import PeerOnlineState as S, PeerSubscriptionStatusErr, QueryPeersOnlineStatusErr
from rtm_actors.testing import CuttableProxy, running_server, wait_until

pytestmark = pytest.mark.integration


def changes(rec):
    return [dict(states) for (states,) in rec.calls("on_peers_online_status_changed")]


def test_query_online_offline_and_never_seen(logged_in):
    """A query answers per peer, in input order, with the request id on the future."""
    alice, rec = logged_in("alice")
    logged_in("bob")
    future = alice.query_peers_online_status(["nobody", "bob", "alice"])
    assert future.get(timeout=5) == {"nobody": S.OFFLINE, "bob": S.ONLINE, "alice": S.ONLINE}
    assert list(future.get()) == ["nobody", "bob", "alice"]
    assert isinstance(future.request_id, int)
    ((rid, states, code),) = rec.wait_for("on_query_peers_online_status_result")
    assert rid == future.request_id
    assert code is QueryPeersOnlineStatusErr.OK
    assert states == future.get()


@pytest.mark.parametrize("peers", [[], ["bad/id"], [f"u{i}" for i in range(257)]])
def test_query_with_bad_arguments_is_invalid_argument(logged_in, peers):
    """Empty lists, bad ids and more than 256 peers fail with INVALID_ARGUMENT."""
    alice, rec = logged_in("alice")
    with pytest.raises(ra.RtmError) as caught:
        alice.query_peers_online_status(peers).get(timeout=5)
    assert caught.value.code is QueryPeersOnlineStatusErr.INVALID_ARGUMENT
    rec.wait_for("on_query_peers_online_status_result")


def test_query_before_login_is_not_logged_in(server, make_client):
    """Presence calls before login fail with USER_NOT_LOGGED_IN (102)."""
    rtm, _ = make_client(server.url)
    with pytest.raises(ra.RtmError) as caught:
        rtm.query_peers_online_status(["bob"]).get(timeout=5)
    assert caught.value.code is QueryPeersOnlineStatusErr.USER_NOT_LOGGED_IN


def test_subscriber_sees_login_unreachable_offline_and_logout_in_order(make_client):
    """Subscribe, then watch a peer log in, lose its link (UNREACHABLE), and finally
    go OFFLINE when its grace period ends; then log in again and log out."""
    with running_server(grace_period=1.0, unreachable_after=0.2) as srv:
        watcher, rec = make_client(srv.url)
        watcher.login(None, "watcher").get(timeout=5)
        future = watcher.subscribe_peers_online_status(["bob"])
        assert future.get(timeout=5) is None
        rec.wait_for("on_subscription_request_result")
        rec.wait_for("on_peers_online_status_changed")
        with CuttableProxy("127.0.0.1", srv.port) as proxy:
            bob, _ = make_client(proxy.url(), backoff_min=5.0, backoff_max=5.0)
            bob.login(None, "bob").get(timeout=5)
            rec.wait_for("on_peers_online_status_changed", count=2)
            proxy.stop()  # bob's network is gone, and stays gone
            rec.wait_for("on_peers_online_status_changed", count=4, timeout=10)
            bob.release()
        bob2, _ = make_client(srv.url)
        bob2.login(None, "bob").get(timeout=5)
        bob2.logout().get(timeout=5)
        rec.wait_for("on_peers_online_status_changed", count=6)
        assert changes(rec) == [
            {"bob": S.OFFLINE},
            {"bob": S.ONLINE},
            {"bob": S.UNREACHABLE},
            {"bob": S.OFFLINE},
            {"bob": S.ONLINE},
            {"bob": S.OFFLINE},
        ]


def test_query_reports_an_unreachable_user_as_online(make_client):
    """Agora never answers UNREACHABLE to a query: a user in its grace period is ONLINE."""
    with running_server(grace_period=5.0, unreachable_after=0.1) as srv:
        alice, rec = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        alice.subscribe_peers_online_status(["bob"]).get(timeout=5)
        with CuttableProxy("127.0.0.1", srv.port) as proxy:
            bob, _ = make_client(proxy.url(), backoff_min=5.0, backoff_max=5.0)
            bob.login(None, "bob").get(timeout=5)
            proxy.stop()
            rec.wait_for("on_peers_online_status_changed", lambda s: s.get("bob") is S.UNREACHABLE)
            assert alice.query_peers_online_status(["bob"]).get(timeout=5) == {"bob": S.ONLINE}
            bob.release()


def test_subscribe_limits_and_unsubscribe(logged_in):
    """At most 512 peers in all (OVERFLOW beyond); unsubscribe and query by option work."""
    alice, _ = logged_in("alice")
    alice.subscribe_peers_online_status([f"p{i}" for i in range(500)]).get(timeout=5)
    with pytest.raises(ra.RtmError) as caught:
        alice.subscribe_peers_online_status([f"q{i}" for i in range(13)]).get(timeout=5)
    assert caught.value.code is PeerSubscriptionStatusErr.OVERFLOW
    alice.subscribe_peers_online_status([f"q{i}" for i in range(12)]).get(timeout=5)
    alice.unsubscribe_peers_online_status([f"p{i}" for i in range(100, 500)]).get(timeout=5)
    watched = alice.query_peers_by_subscription_option().get(timeout=5)
    assert sorted(watched) == sorted([f"p{i}" for i in range(100)] + [f"q{i}" for i in range(12)])
    with pytest.raises(ra.RtmError) as caught:
        alice.subscribe_peers_online_status(["bad/id"]).get(timeout=5)
    assert caught.value.code is PeerSubscriptionStatusErr.INVALID_ARGUMENT


def test_subscribe_rate_limit_is_enforced_by_the_server(logged_in):
    """More than 10 subscribe calls in 5 s are answered TOO_OFTEN."""
    alice, _ = logged_in("alice")
    codes = []
    for i in range(11):
        try:
            alice.subscribe_peers_online_status([f"p{i}"]).get(timeout=5)
            codes.append(PeerSubscriptionStatusErr.OK)
        except ra.RtmError as exc:
            codes.append(exc.code)
    assert codes == [PeerSubscriptionStatusErr.OK] * 10 + [PeerSubscriptionStatusErr.TOO_OFTEN]


def test_subscriptions_survive_a_short_reconnect_and_missed_changes_come_in_one_callback(
    server, make_client
):
    """The subscriber's link drops; changes meanwhile arrive in one callback after it."""
    with CuttableProxy("127.0.0.1", server.port) as proxy:
        watcher, rec = make_client(proxy.url(), backoff_min=0.4, backoff_max=0.4)
        watcher.login(None, "watcher").get(timeout=5)
        watcher.subscribe_peers_online_status(["bob", "carol"]).get(timeout=5)
        rec.wait_for("on_peers_online_status_changed")
        proxy.cut()
        bob, _ = make_client(server.url)
        bob.login(None, "bob").get(timeout=5)
        carol, _ = make_client(server.url)
        carol.login(None, "carol").get(timeout=5)
        rec.wait_for("on_peers_online_status_changed", count=2)
        assert changes(rec)[-1] == {"bob": S.ONLINE, "carol": S.ONLINE}
        assert len(changes(rec)) == 2


def test_subscriptions_and_attributes_are_restored_after_a_long_absence(make_client):
    """Past the grace period the server forgets the session; the SDK re-subscribes and
    re-sets its attributes by itself, and reports what changed in one callback."""
    with running_server(grace_period=0.3) as srv, CuttableProxy("127.0.0.1", srv.port) as proxy:
        watcher, rec = make_client(proxy.url(), backoff_min=1.0, backoff_max=1.0)
        watcher.login(None, "watcher").get(timeout=5)
        watcher.subscribe_peers_online_status(["bob"]).get(timeout=5)
        watcher.set_local_user_attributes({"mood": "happy"}).get(timeout=5)
        rec.wait_for("on_peers_online_status_changed")
        proxy.cut()
        wait_until(lambda: srv.context.directory.lookup(("testapp", "watcher")) is None)
        bob, _ = make_client(srv.url)
        bob.login(None, "bob").get(timeout=5)
        rec.wait_for("on_peers_online_status_changed", count=2, timeout=10)
        assert changes(rec) == [{"bob": S.OFFLINE}, {"bob": S.ONLINE}]
        assert bob.get_user_attributes("watcher").get(timeout=5) == {"mood": "happy"}
        assert watcher.query_peers_by_subscription_option().get(timeout=5) == ["bob"]
        assert len(rec.calls("on_subscription_request_result")) == 1  # no callback for the restore


def test_logout_clears_subscriptions(logged_in):
    """After logout and a new login, nothing is watched any more."""
    alice, rec = logged_in("alice")
    alice.subscribe_peers_online_status(["bob"]).get(timeout=5)
    alice.logout().get(timeout=5)
    alice.login(None, "alice").get(timeout=5)
    assert alice.query_peers_by_subscription_option().get(timeout=5) == []
    logged_in("bob")
    alice.query_peers_online_status(["bob"]).get(timeout=5)
    assert changes(rec) == [{"bob": S.OFFLINE}]
