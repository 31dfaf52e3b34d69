"""Per-user call limits of one node: they belong to the user (per app), not to a session.

A session used to own its limiters, so logging in again gave a fresh budget (5 logins
in 1.4 s sent 5 x 1,500 messages against a 1,500 per 3 s limit). Here every limiter
lives in a node-wide registry keyed by (app id, user id) that outlives sessions.

Memory stays bounded without resetting anyone's limit: an entry is dropped only once
it has not been used for a whole generation (``max_window`` seconds or more), and a
limiter idle that long holds no event inside any window, so a fresh one behaves the
same. Entries live in two generations that swap every ``max_window`` seconds (no
sweep loop over every user): a used entry moves to the current one, and the older
generation is dropped whole. The registry thus holds only the users seen in the
last two generations, each of whom had to log in, and costs the hot path two dict
lookups.
"""

from __future__ import annotations

from typing import Any

from rtm_actors.protocol.flow import RateLimiter

UserKey = tuple[str, str]  # app id, user id

#: Each limiter and the ``ServerConfig`` setting ``(limit, window)`` it follows. Calls
#: Agora counts apart (subscribe, unsubscribe, query subscriptions; user and channel
#: attributes) have limiters apart that share a setting.
LIMITERS = {
    "presence_query": "presence_query_rate",
    "subscribe": "subscribe_rate",
    "unsubscribe": "subscribe_rate",
    "query_subscriptions": "subscribe_rate",
    "attribute_write": "attribute_write_rate",
    "attribute_read": "attribute_read_rate",
    "channel_attribute_write": "attribute_write_rate",
    "channel_attribute_read": "attribute_read_rate",
    "join": "join_rate",
    "get_members": "get_members_rate",
    "member_count": "member_count_rate",
    "renew": "renew_rate",
    "invitation": "invitation_rate",
}
#: Peer and channel messages, counted together (two ``ServerConfig`` fields).
MESSAGES = "message"
#: Fresh logins (``login_rate`` per second).
LOGINS = "login"
#: Joins of one channel, a limiter per channel id (Agora: 2 per 5 s).
SAME_CHANNEL_JOIN = "same_channel_join"

#: A user's per-channel join limiters are pruned of idle ones past this many: only
#: those used within their window count, and the join limit keeps that number small.
_PRUNE_CHANNELS_AT = 128


class UserRates:
    """One node's call limiters, per user and per kind of call."""

    __slots__ = ("_current", "_limits", "_older", "_rotated_at", "max_window")

    def __init__(self, config: Any) -> None:
        limits = {name: getattr(config, setting) for name, setting in LIMITERS.items()}
        limits[MESSAGES] = (config.message_rate, config.message_rate_window)
        limits[SAME_CHANNEL_JOIN] = config.same_channel_join_rate
        limits[LOGINS] = (config.login_rate, 1.0)
        self._limits = limits
        self.max_window = max(window for _limit, window in limits.values())
        self._current: dict[UserKey, dict[Any, RateLimiter]] = {}
        self._older: dict[UserKey, dict[Any, RateLimiter]] = {}
        self._rotated_at = 0.0

    def allow(self, user: UserKey, what: str, now: float) -> bool:
        """Count one call of ``what`` (a name in ``LIMITERS``, ``MESSAGES`` or ``LOGINS``) by
        ``user`` at ``now`` if within its limit; say whether it was."""
        limiters = self._limiters(user, now)
        limiter = limiters.get(what)
        if limiter is None:
            limiter = limiters[what] = RateLimiter(*self._limits[what])
        return limiter.allow(now)

    def allow_join(self, user: UserKey, channel_id: str, now: float) -> bool:
        """Count one join of ``channel_id`` by ``user`` (the same-channel limit)."""
        limiters = self._limiters(user, now)
        key = (SAME_CHANNEL_JOIN, channel_id)
        limiter = limiters.get(key)
        if limiter is None:
            if len(limiters) > _PRUNE_CHANNELS_AT:
                _prune_idle(limiters, now)
            limiter = limiters[key] = RateLimiter(*self._limits[SAME_CHANNEL_JOIN])
        return limiter.allow(now)

    def __len__(self) -> int:
        return len(self._current) + len(self._older)

    def _limiters(self, user: UserKey, now: float) -> dict[Any, RateLimiter]:
        if now - self._rotated_at >= self.max_window:
            # The older generation was last used a whole generation ago at least.
            self._older, self._current = self._current, {}
            self._rotated_at = now
        limiters = self._current.get(user)
        if limiters is None:
            limiters = self._older.pop(user, None)
            if limiters is None:
                limiters = {}
            self._current[user] = limiters
        return limiters


def _prune_idle(limiters: dict[Any, RateLimiter], now: float) -> None:
    for key in [k for k, v in limiters.items() if isinstance(k, tuple) and v.idle(now)]:
        del limiters[key]
