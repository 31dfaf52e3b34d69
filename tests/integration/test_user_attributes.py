"""The six user-attribute operations, their limits and who may write them."""

from __future__ import annotations

import pytest

import rtm_actors as ra
from rtm_actors import AttributeOperationErr as E
from rtm_actors.protocol import codec
from rtm_actors.protocol.frames import AttributesReply, Error, GetUserAttributes, Login, LoginOk
from rtm_actors.testing import wait_until

pytestmark = pytest.mark.integration


def code_of(future):
    try:
        future.get(timeout=5)
    except ra.RtmError as exc:
        return exc.code
    return E.OK


def test_every_operation_with_its_callback_and_request_id(logged_in):
    """set, add_or_update, delete, clear, get and get_by_keys each answer by request id."""
    alice, rec = logged_in("alice")
    bob, bob_rec = logged_in("bob")
    f = alice.set_local_user_attributes({"a": "1", "b": "2"})
    assert f.get(timeout=5) is None
    assert rec.wait_for("on_set_local_user_attributes_result") == [(f.request_id, E.OK)]
    f = alice.add_or_update_local_user_attributes({"b": "20", "c": "3"})
    f.get(timeout=5)
    assert rec.wait_for("on_add_or_update_local_user_attributes_result") == [(f.request_id, E.OK)]
    assert bob.get_user_attributes("alice").get(timeout=5) == {"a": "1", "b": "20", "c": "3"}
    f = bob.get_user_attributes_by_keys("alice", ["a", "c", "zzz"])
    assert f.get(timeout=5) == {"a": "1", "c": "3"}
    assert bob_rec.wait_for("on_get_user_attributes_result", count=2)[-1] == (
        f.request_id,
        "alice",
        {"a": "1", "c": "3"},
        E.OK,
    )
    f = alice.delete_local_user_attributes_by_keys(["a", "missing"])
    f.get(timeout=5)
    assert rec.wait_for("on_delete_local_user_attributes_result") == [(f.request_id, E.OK)]
    assert alice.get_user_attributes("alice").get(timeout=5) == {"b": "20", "c": "3"}
    f = alice.clear_local_user_attributes()
    f.get(timeout=5)
    assert rec.wait_for("on_clear_local_user_attributes_result") == [(f.request_id, E.OK)]
    assert bob.get_user_attributes("alice").get(timeout=5) == {}
    f = alice.set_local_user_attributes({"x": "1"})
    f.get(timeout=5)
    f = alice.set_local_user_attributes({"y": "2"})
    f.get(timeout=5)
    assert bob.get_user_attributes("alice").get(timeout=5) == {"y": "2"}


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ({"k": ""}, E.INVALID_ARGUMENT),
        ({"": "v"}, E.INVALID_ARGUMENT),
        ({"has space": "v"}, E.INVALID_ARGUMENT),
        ({"k" * 33: "v"}, E.INVALID_ARGUMENT),
        ({"k" * 32: "v"}, E.OK),
        ({"k": "v" * (8 * 1024)}, E.OK),
        ({"k": "v" * (8 * 1024 + 1)}, E.SIZE_OVERFLOW),
        ({f"k{i}": "v" for i in range(32)}, E.OK),
        ({f"k{i}": "v" for i in range(33)}, E.SIZE_OVERFLOW),
        ({f"k{i}": "v" * 8000 for i in range(3)}, E.SIZE_OVERFLOW),
    ],
)
def test_limits_of_one_write(logged_in, attributes, code):
    """Keys 1-32 visible bytes, values 1 byte to 8 KB, 32 keys, 16 KB in all."""
    alice, _ = logged_in("alice")
    assert code_of(alice.set_local_user_attributes(attributes)) is code


def test_limits_are_judged_on_the_state_after_the_write(logged_in):
    """add_or_update fails if the result would pass 32 keys or 16 KB, and changes nothing."""
    alice, _ = logged_in("alice")
    alice.set_local_user_attributes({f"k{i}": "v" for i in range(31)}).get(timeout=5)
    assert code_of(alice.add_or_update_local_user_attributes({"k0": "new", "x": "1"})) is E.OK
    assert code_of(alice.add_or_update_local_user_attributes({"y": "1"})) is E.SIZE_OVERFLOW
    alice.set_local_user_attributes({"a": "v" * 8000, "b": "v" * 8000}).get(timeout=5)
    assert code_of(alice.add_or_update_local_user_attributes({"c": "v" * 500})) is E.SIZE_OVERFLOW
    assert code_of(alice.add_or_update_local_user_attributes({"a": "short"})) is E.OK
    assert sorted(alice.get_user_attributes("alice").get(timeout=5)) == ["a", "b"]


def test_reading_an_offline_user_is_user_not_found(logged_in):
    """Attributes exist only while their owner is logged in."""
    alice, _ = logged_in("alice")
    assert code_of(alice.get_user_attributes("nobody")) is E.USER_NOT_FOUND
    assert code_of(alice.get_user_attributes("bad/id")) is E.INVALID_ARGUMENT


def test_logout_clears_attributes(logged_in):
    """A user's attributes are gone after it logs out and back in."""
    alice, _ = logged_in("alice")
    bob, _ = logged_in("bob")
    bob.set_local_user_attributes({"k": "v"}).get(timeout=5)
    bob.logout().get(timeout=5)
    assert code_of(alice.get_user_attributes("bob")) is E.USER_NOT_FOUND
    bob.login(None, "bob").get(timeout=5)
    assert alice.get_user_attributes("bob").get(timeout=5) == {}


def test_write_rate_limit_is_enforced_by_the_server(make_client):
    """Past the per-session write rate the server answers TOO_OFTEN."""
    from rtm_actors.testing import running_server

    with running_server(attribute_write_rate=(3, 60.0)) as srv:
        alice, _ = make_client(srv.url)
        alice.login(None, "alice").get(timeout=5)
        codes = [code_of(alice.set_local_user_attributes({"k": str(i)})) for i in range(4)]
        assert codes == [E.OK, E.OK, E.OK, E.TOO_OFTEN]


def test_no_frame_lets_a_user_write_another_users_attributes(server, logged_in):
    """Write frames carry no user id; one smuggled in is refused as a protocol error."""
    bob, _ = logged_in("bob")
    bob.set_local_user_attributes({"owner": "bob"}).get(timeout=5)
    from rtm_actors.client.link import ClientLink

    frames = []
    link = ClientLink.open(server.url, timeout=5)
    link.start(on_frame=lambda _l, f: frames.append(f), on_closed=lambda _l: None)
    link.send(codec.encode(Login(0, "testapp", "mallory")))
    wait_until(lambda: any(isinstance(f, LoginOk) for f in frames))
    link.send(b'{"t":"set_attrs","rid":5,"user_id":"bob","attributes":{"owner":"mallory"}}')
    link.send(b'{"t":"add_attrs","rid":6,"attributes":{"owner":"mallory"},"target":"bob"}')
    wait_until(lambda: sum(isinstance(f, Error) for f in frames) == 2)
    link.send(codec.encode(GetUserAttributes(7, "bob")))
    wait_until(lambda: any(isinstance(f, AttributesReply) for f in frames))
    reply = next(f for f in frames if isinstance(f, AttributesReply))
    assert reply.attributes == {"owner": "bob"}
    link.close()
