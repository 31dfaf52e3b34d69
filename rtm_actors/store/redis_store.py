"""Redis store: offline messages and user and channel attributes in one shared Redis.

Several nodes pointed at the same Redis see the same data. Commands go through
``rtm_actors.runtime.redis_socket`` (gevent sockets), so a call waits only in the
calling greenlet. Keys (``prefix`` defaults to ``rtm:``):

- ``rtm:off:{app}:{user}``: sorted set of offline messages, score = store id, holding
  at most the policy's count (a full set refuses newcomers) and expiring with its
  TTL; ``rtm:off:seq`` numbers them.
- ``rtm:ua:{app}:{user}``: hash of the user's attributes.
- ``rtm:ca:{app}:{channel}``: hash of the channel's attributes (value, writer, ts).
"""

from __future__ import annotations

from typing import Any

import msgspec

from rtm_actors.store.base import OfflinePolicy, StoredAttribute, StoredMessage
from rtm_actors.store.redis_durability import Durability, check_durability

# Refuse when full, else number, keep, refresh the TTL: one atomic step, so two
# nodes storing for the same receiver cannot both take the last place.
_PUSH = """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
local id = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], id, tostring(id) .. '|' .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return id
"""

_MessageRow = tuple[str, int, int, str, bytes | None, int]
_encode = msgspec.msgpack.Encoder().encode
_decode_row = msgspec.msgpack.Decoder(_MessageRow).decode
_decode_attr = msgspec.msgpack.Decoder(tuple[str, str, int]).decode


class RedisOfflineStore:
    """Offline messages in Redis sorted sets."""

    def __init__(self, client: Any, policy: OfflinePolicy | None = None, prefix: str = "rtm:"):
        self.policy = policy or OfflinePolicy()
        self._r = client
        self._prefix = prefix
        self._push = client.register_script(_PUSH)
        #: Whether offline messages may be kept here and answered CACHED_BY_SERVER:
        #: once ``check`` found the Redis durable, or the operator assumes it is.
        self.accepts_offline = False
        #: What ``check`` last read (None: not checked yet).
        self.durability: Durability | None = None

    def check(self, assume_durable: bool = False) -> Durability:
        """Read whether the Redis keeps what it acknowledged across its restart, and
        accept offline messages only if it does (or ``assume_durable``)."""
        self.durability = check_durability(self._r)
        self.accepts_offline = self.durability.durable or assume_durable
        return self.durability

    def _key(self, app_id: str, receiver_id: str) -> str:
        return f"{self._prefix}off:{app_id}:{receiver_id}"

    def push(self, app_id: str, receiver_id: str, message: StoredMessage) -> bool:
        """Keep the message unless the receiver's set is full; say whether it was."""
        m = message
        row = _encode((m.sender_id, m.message_id, m.kind, m.text, m.raw, m.ts))
        ttl_ms = int(self.policy.ttl_s * 1000)
        keys = [self._key(app_id, receiver_id), f"{self._prefix}off:seq"]
        return bool(self._push(keys=keys, args=[row, self.policy.max_per_receiver, ttl_ms]))

    def fetch(self, app_id: str, receiver_id: str, now_ms: int) -> list[StoredMessage]:
        """Unexpired messages, oldest first; expired ones are removed on the way."""
        key = self._key(app_id, receiver_id)
        oldest = now_ms - int(self.policy.ttl_s * 1000)
        kept: list[StoredMessage] = []
        expired: list[bytes] = []
        for member in self._r.zrange(key, 0, -1):
            store_id, _, row = member.partition(b"|")
            sender, message_id, kind, text, raw, ts = _decode_row(row)
            if ts < oldest:
                expired.append(member)
            else:
                kept.append(StoredMessage(sender, message_id, kind, text, raw, ts, int(store_id)))
        if expired:
            self._r.zrem(key, *expired)
        return kept

    def delete(self, app_id: str, receiver_id: str, store_ids: list[int]) -> None:
        """Remove delivered messages."""
        if not store_ids:
            return
        key = self._key(app_id, receiver_id)
        pipe = self._r.pipeline(transaction=False)
        for store_id in store_ids:
            pipe.zremrangebyscore(key, store_id, store_id)
        pipe.execute()

    def count(self, app_id: str, receiver_id: str) -> int:
        """How many are kept."""
        return int(self._r.zcard(self._key(app_id, receiver_id)))

    def close(self) -> None:
        """Release the connections."""
        self._r.close()


class RedisUserAttributeStore:
    """User attributes in Redis hashes."""

    def __init__(self, client: Any, prefix: str = "rtm:") -> None:
        self._r = client
        self._prefix = prefix

    def get(self, app_id: str, user_id: str) -> dict[str, str]:
        """The user's attributes."""
        raw = self._r.hgetall(f"{self._prefix}ua:{app_id}:{user_id}")
        return {k.decode(): v.decode() for k, v in raw.items()}

    def put(self, app_id: str, user_id: str, attributes: dict[str, str]) -> None:
        """Replace (or with an empty dict, remove) the user's attributes."""
        _replace_hash(self._r, f"{self._prefix}ua:{app_id}:{user_id}", attributes)


class RedisChannelAttributeStore:
    """Channel attributes in Redis hashes."""

    def __init__(self, client: Any, prefix: str = "rtm:") -> None:
        self._r = client
        self._prefix = prefix

    def get(self, app_id: str, channel_id: str) -> dict[str, StoredAttribute]:
        """The channel's attributes."""
        raw = self._r.hgetall(f"{self._prefix}ca:{app_id}:{channel_id}")
        return {k.decode(): StoredAttribute(*_decode_attr(v)) for k, v in raw.items()}

    def put(self, app_id: str, channel_id: str, attributes: dict[str, StoredAttribute]) -> None:
        """Replace (or with an empty dict, remove) the channel's attributes."""
        rows = {k: _encode((a.value, a.user_id, a.ts)) for k, a in attributes.items()}
        _replace_hash(self._r, f"{self._prefix}ca:{app_id}:{channel_id}", rows)


def _replace_hash(client: Any, key: str, mapping: dict[str, Any]) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    if mapping:
        pipe.hset(key, mapping=mapping)
    pipe.execute()
