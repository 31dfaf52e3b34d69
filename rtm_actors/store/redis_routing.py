"""Redis presence, routing and channel membership, shared by every node.

Keys (``prefix`` defaults to ``rtm:``):

- ``rtm:route:{app}``: hash user id -> ``node|session key|state``.
- ``rtm:members:{app}:{channel}``: hash user id -> node.
- ``rtm:node:{node}:users`` and ``rtm:node:{node}:members``: what each node has
  registered, so the survivors can clean up after a node that died.

Writes are compare-and-set Lua scripts: a session (or node) changes a user's route or
membership only while it still owns it, so a late write from a replaced session or
a dead node's clean-up never undoes a newer login elsewhere.
"""

from __future__ import annotations

from typing import Any

import msgspec

from rtm_actors.store.base import Route

_CLAIM = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return old
"""
# ARGV: user, "node|session|" prefix, new value ("" to delete), index member ("" to keep)
_IF_OWNER = """
if ARGV[4] ~= '' then redis.call('SREM', KEYS[2], ARGV[4]) end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or string.sub(v, 1, #ARGV[2]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1
"""
_JOIN = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
"""
_LEAVE = """
redis.call('SREM', KEYS[2], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""

_encode = msgspec.msgpack.Encoder().encode
_decode_pair = msgspec.msgpack.Decoder(tuple[str, str]).decode
_decode_triple = msgspec.msgpack.Decoder(tuple[str, str, str]).decode


def _route_value(route: Route) -> str:
    return f"{route.node}|{route.session_key}|{route.state}"


def _parse_route(value: bytes) -> Route:
    node, session_key, state = value.decode().split("|")
    return Route(node, session_key, int(state))


class RedisRoutingStore:
    """Which node holds each user's session, and the user's state."""

    def __init__(self, client: Any, prefix: str = "rtm:") -> None:
        self._r = client
        self._prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._if_owner = client.register_script(_IF_OWNER)

    def _keys(self, app_id: str, node: str) -> list[str]:
        return [f"{self._prefix}route:{app_id}", f"{self._prefix}node:{node}:users"]

    def claim(self, app_id: str, user_id: str, route: Route) -> Route | None:
        """Take the user for ``route``; answer the route replaced."""
        member = _encode((app_id, user_id))
        keys = self._keys(app_id, route.node)
        old = self._claim(keys=keys, args=[user_id, _route_value(route), member])
        return _parse_route(old) if old else None

    def release(self, app_id: str, user_id: str, node: str, session_key: str) -> bool:
        """Forget the route if it is still that session's."""
        member = _encode((app_id, user_id))
        args = [user_id, f"{node}|{session_key}|", "", member]
        return bool(self._if_owner(keys=self._keys(app_id, node), args=args))

    def set_state(self, app_id: str, user_id: str, node: str, session_key: str, state: int) -> bool:
        """Record the state if that session still owns the user."""
        value = _route_value(Route(node, session_key, state))
        args = [user_id, f"{node}|{session_key}|", value, ""]
        return bool(self._if_owner(keys=self._keys(app_id, node), args=args))

    def locate(self, app_id: str, user_ids: list[str]) -> dict[str, Route]:
        """Routes of the users that have one (one round trip)."""
        if not user_ids:
            return {}
        values = self._r.hmget(f"{self._prefix}route:{app_id}", user_ids)
        return {u: _parse_route(v) for u, v in zip(user_ids, values, strict=True) if v}

    def drop_node(self, node: str) -> list[tuple[str, str]]:
        """Release every user still routed to ``node``."""
        routes = self.owned_by(node)
        for (app, user), route in routes.items():
            self.release(app, user, node, route.session_key)
        self._r.delete(f"{self._prefix}node:{node}:users")
        return list(routes)

    def owned_by(self, node: str) -> dict[tuple[str, str], Route]:
        """The users routed to ``node`` now, with their routes."""
        index = f"{self._prefix}node:{node}:users"
        users = [_decode_pair(m) for m in self._r.smembers(index)]
        found = ((key, self.locate(key[0], [key[1]]).get(key[1])) for key in users)
        return {key: r for key, r in found if r is not None and r.node == node}


class RedisMembershipStore:
    """Channel members and the nodes their sessions are on."""

    def __init__(self, client: Any, prefix: str = "rtm:") -> None:
        self._r = client
        self._prefix = prefix
        self._join = client.register_script(_JOIN)
        self._leave = client.register_script(_LEAVE)

    def _keys(self, app_id: str, channel_id: str, node: str) -> list[str]:
        return [
            f"{self._prefix}members:{app_id}:{channel_id}",
            f"{self._prefix}node:{node}:members",
        ]

    def join(self, app_id: str, channel_id: str, user_id: str, node: str) -> None:
        """Add (or move) the member."""
        member = _encode((app_id, channel_id, user_id))
        self._join(keys=self._keys(app_id, channel_id, node), args=[user_id, node, member])

    def leave(self, app_id: str, channel_id: str, user_id: str, node: str) -> bool:
        """Remove the member if it is through ``node``."""
        member = _encode((app_id, channel_id, user_id))
        keys = self._keys(app_id, channel_id, node)
        return bool(self._leave(keys=keys, args=[user_id, node, member]))

    def members(self, app_id: str, channel_id: str) -> dict[str, str]:
        """User id -> node."""
        raw = self._r.hgetall(f"{self._prefix}members:{app_id}:{channel_id}")
        return {k.decode(): v.decode() for k, v in raw.items()}

    def counts(self, app_id: str, channel_ids: list[str]) -> dict[str, int]:
        """Member counts (one round trip)."""
        pipe = self._r.pipeline(transaction=False)
        for channel_id in channel_ids:
            pipe.hlen(f"{self._prefix}members:{app_id}:{channel_id}")
        return dict(zip(channel_ids, (int(n) for n in pipe.execute()), strict=True))

    def drop_node(
        self, node: str, keep: set[tuple[str, str, str]] | None = None
    ) -> list[tuple[str, str, str]]:
        """Remove every member through ``node`` (but those in ``keep``)."""
        index = f"{self._prefix}node:{node}:members"
        gone = []
        for raw in self._r.smembers(index):
            member = _decode_triple(raw)
            if keep is not None and member in keep:
                continue
            if self.leave(*member, node):
                gone.append(member)
        if keep is None:
            self._r.delete(index)
        return gone
