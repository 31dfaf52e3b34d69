"""One suite for every store backend: memory, SQLite and Redis behave alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rtm_actors.store import (
    MemoryChannelAttributeStore,
    MemoryMembershipStore,
    MemoryRoutingStore,
    MemoryUserAttributeStore,
    OfflinePolicy,
    OfflineStore,
    Route,
    StoredAttribute,
    StoredMessage,
    open_offline_store,
)

BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
NOW = 1_700_000_000_000


def _msg(n: int, ts: int = NOW) -> StoredMessage:
    return StoredMessage("alice", n, 1, f"hello {n}", None, ts)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path) -> Iterator[Callable[[str], Any]]:
    """Make a store of one kind ("offline", "users", "channels", "routing", "members")."""
    name = request.param
    made: list[Any] = []
    url = {
        "memory": "memory",
        "sqlite": f"sqlite:///{tmp_path}/rtm.db",
        "redis": request.getfixturevalue("redis_url") if name == "redis" else "",
    }[name]

    def make(kind: str, policy: OfflinePolicy | None = None) -> Any:
        if kind == "offline":
            store = open_offline_store(url, policy)
            made.append(store)
            return store
        if name == "redis":
            from rtm_actors.runtime.redis_socket import gevent_redis
            from rtm_actors.store.redis_routing import RedisMembershipStore, RedisRoutingStore
            from rtm_actors.store.redis_store import (
                RedisChannelAttributeStore,
                RedisUserAttributeStore,
            )

            client = gevent_redis(url)
            made.append(client)
            kinds: dict[str, Callable[[Any], Any]] = {
                "users": RedisUserAttributeStore,
                "channels": RedisChannelAttributeStore,
                "routing": RedisRoutingStore,
                "members": RedisMembershipStore,
            }
            return kinds[kind](client)
        # Memory and SQLite nodes keep these in memory (nothing to share).
        return {
            "users": MemoryUserAttributeStore,
            "channels": MemoryChannelAttributeStore,
            "routing": MemoryRoutingStore,
            "members": MemoryMembershipStore,
        }[kind]()

    yield make
    for thing in made:
        thing.close()


class TestOfflineStore:
    def test_keeps_messages_oldest_first(self, backend):
        """Pushed messages come back in order, each with a store id."""
        store: OfflineStore = backend("offline")
        for n in range(3):
            store.push("app", "bob", _msg(n))
        got = store.fetch("app", "bob", NOW)
        assert [m.message_id for m in got] == [0, 1, 2]
        assert len({m.store_id for m in got}) == 3
        assert [dataclasses.replace(m, store_id=0) for m in got] == [_msg(n) for n in range(3)]
        assert store.count("app", "bob") == 3
        assert store.fetch("app", "carol", NOW) == []

    def test_receivers_and_apps_are_apart(self, backend):
        """A message is kept for one (app, receiver) only."""
        store = backend("offline")
        store.push("app", "bob", _msg(1))
        store.push("other", "bob", _msg(2))
        assert [m.message_id for m in store.fetch("app", "bob", NOW)] == [1]
        assert [m.message_id for m in store.fetch("other", "bob", NOW)] == [2]

    def test_full_queue_keeps_the_oldest_and_refuses_newcomers(self, backend):
        """At the per-receiver bound a push is refused (and says so): nothing kept is
        dropped for it, and a place freed by a delivery takes the next one."""
        store = backend("offline", OfflinePolicy(max_per_receiver=3))
        assert [store.push("app", "bob", _msg(n)) for n in range(5)] == [
            True,
            True,
            True,
            False,
            False,
        ]
        kept = store.fetch("app", "bob", NOW)
        assert [m.message_id for m in kept] == [0, 1, 2]
        assert store.push("app", "carol", _msg(9)) is True
        store.delete("app", "bob", [kept[0].store_id])
        assert store.push("app", "bob", _msg(5)) is True
        assert store.push("app", "bob", _msg(6)) is False
        assert [m.message_id for m in store.fetch("app", "bob", NOW)] == [1, 2, 5]

    def test_expired_messages_are_not_fetched(self, backend):
        """Messages older than the TTL are gone."""
        store = backend("offline", OfflinePolicy(ttl_s=60))
        store.push("app", "bob", _msg(1, ts=NOW - 61_000))
        store.push("app", "bob", _msg(2, ts=NOW - 1_000))
        assert [m.message_id for m in store.fetch("app", "bob", NOW)] == [2]

    def test_delete_removes_only_the_named(self, backend):
        """Delivered messages are removed by store id; the rest stay."""
        store = backend("offline")
        for n in range(3):
            store.push("app", "bob", _msg(n))
        first, _, third = store.fetch("app", "bob", NOW)
        store.delete("app", "bob", [first.store_id, third.store_id])
        store.delete("app", "bob", [])
        assert [m.message_id for m in store.fetch("app", "bob", NOW)] == [1]
        assert store.count("app", "bob") == 1


class TestAttributeStores:
    def test_user_attributes_replace_and_clear(self, backend):
        """User attributes are replaced whole; an empty dict removes them."""
        store = backend("users")
        assert store.get("app", "bob") == {}
        store.put("app", "bob", {"a": "1", "b": "2"})
        store.put("app", "bob", {"c": "3"})
        assert store.get("app", "bob") == {"c": "3"}
        assert store.get("app", "carol") == {}
        store.put("app", "bob", {})
        assert store.get("app", "bob") == {}

    def test_channel_attributes_keep_writer_and_time(self, backend):
        """Channel attributes keep value, last writer and time."""
        store = backend("channels")
        attrs = {"topic": StoredAttribute("cats", "alice", NOW), "x": StoredAttribute("", "b", 1)}
        store.put("app", "room", attrs)
        assert store.get("app", "room") == attrs
        assert store.get("app", "other") == {}
        store.put("app", "room", {})
        assert store.get("app", "room") == {}


class TestRoutingStore:
    def test_claim_answers_the_replaced_route(self, backend):
        """A newer login takes the user and learns where the older one was."""
        store = backend("routing")
        assert store.claim("app", "bob", Route("n1", "s1", 1)) is None
        assert store.claim("app", "bob", Route("n2", "s2", 1)) == Route("n1", "s1", 1)
        assert store.locate("app", ["bob", "carol"]) == {"bob": Route("n2", "s2", 1)}

    def test_only_the_owner_writes(self, backend):
        """A replaced session can neither change the state nor release the user."""
        store = backend("routing")
        store.claim("app", "bob", Route("n1", "s1", 1))
        store.claim("app", "bob", Route("n2", "s2", 1))
        assert not store.set_state("app", "bob", "n1", "s1", 2)
        assert not store.release("app", "bob", "n1", "s1")
        assert store.set_state("app", "bob", "n2", "s2", 2)
        assert store.locate("app", ["bob"]) == {"bob": Route("n2", "s2", 2)}
        assert store.release("app", "bob", "n2", "s2")
        assert store.locate("app", ["bob"]) == {}

    def test_drop_node_releases_only_its_users(self, backend):
        """A dead node's users go; users it lost to another node stay."""
        store = backend("routing")
        store.claim("app", "a", Route("dead", "s1", 1))
        store.claim("app", "b", Route("dead", "s2", 1))
        store.claim("app", "b", Route("live", "s3", 1))
        store.claim("other", "c", Route("dead", "s4", 1))
        assert store.owned_by("live") == {("app", "b"): Route("live", "s3", 1)}
        assert sorted(store.drop_node("dead")) == [("app", "a"), ("other", "c")]
        assert store.locate("app", ["a", "b"]) == {"b": Route("live", "s3", 1)}
        assert store.drop_node("dead") == []


class TestMembershipStore:
    def test_members_and_counts(self, backend):
        """Members are listed with their node, and counted per channel."""
        store = backend("members")
        store.join("app", "room", "a", "n1")
        store.join("app", "room", "b", "n2")
        store.join("app", "hall", "a", "n1")
        assert store.members("app", "room") == {"a": "n1", "b": "n2"}
        assert store.counts("app", ["room", "hall", "none"]) == {"room": 2, "hall": 1, "none": 0}

    def test_leave_only_through_the_node(self, backend):
        """A member that moved to another node is not removed by the old one."""
        store = backend("members")
        store.join("app", "room", "a", "n1")
        store.join("app", "room", "a", "n2")
        assert not store.leave("app", "room", "a", "n1")
        assert store.leave("app", "room", "a", "n2")
        assert not store.leave("app", "room", "a", "n2")
        assert store.members("app", "room") == {}

    def test_drop_node(self, backend):
        """A dead node's members are removed and reported."""
        store = backend("members")
        store.join("app", "room", "a", "dead")
        store.join("app", "room", "b", "live")
        store.join("app", "hall", "c", "dead")
        assert store.drop_node("dead", keep={("app", "room", "a")}) == [("app", "hall", "c")]
        assert sorted(store.drop_node("dead")) == [("app", "room", "a")]
        assert store.members("app", "room") == {"b": "live"}
        assert store.drop_node("dead") == []
