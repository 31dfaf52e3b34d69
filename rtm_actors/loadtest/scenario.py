"""Load scenarios as pure data, and the deterministic plan a seed makes of one.

A ``Scenario`` says what simulated users do (the mix of actions, channel sizes,
subscriptions, churn, a login storm); a ``Plan`` fixes, for one run, which user talks
to whom, who is in which channel, who watches whom, when each user acts and what it
does. The plan is a pure function of (scenario, users, seed, rate, duration): no
clock, no IO, so every worker process rebuilds the same plan and takes its share.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

#: Actions a built-in user can take on a tick.
PEER = "peer"
CHANNEL = "channel"
QUERY = "query"
INVITE = "invite"
ACTIONS = (PEER, CHANNEL, QUERY, INVITE)

#: Traffic pauses this long before a planned drop, so messages in flight settle.
QUIET_BEFORE_DROP = 0.5
#: ... and this long after the user is back, so its peers are back too.
SETTLE_AFTER_DROP = 1.5


@dataclass(frozen=True, slots=True)
class Scenario:
    """What the simulated users of a run do: pure data, no behaviour.

    Attributes:
        name: the ``--scenario`` name.
        summary: one line for ``--help`` and the report.
        mix: ``(action, weight)`` pairs; each tick a user picks one action by weight.
        partners: peers each user sends to and invites (a ring over a shuffle).
        channel_size: members per channel.
        channels_per_user: channels each user joins (at most 20, Agora's limit).
        subscriptions: peers whose online status each user watches.
        churn: share of users that log out and back in once during the run.
        down_for: seconds a churned or dropped user stays logged out.
        storm: everyone logs in at once, and everyone drops and logs in again at once.
        drop_at: when the storm's drop happens, as a share of the duration.
    """

    name: str
    summary: str
    mix: tuple[tuple[str, float], ...] = ((PEER, 1.0),)
    partners: int = 1
    channel_size: int = 10
    channels_per_user: int = 1
    subscriptions: int = 0
    churn: float = 0.0
    down_for: float = 1.0
    storm: bool = False
    drop_at: float = 0.4

    def __post_init__(self) -> None:
        unknown = [a for a, _ in self.mix if a not in ACTIONS]
        if unknown or not self.mix or any(w < 0 for _, w in self.mix):
            msg = f"scenario {self.name!r}: bad mix {self.mix!r}"
            raise ValueError(msg)
        if not 1 <= self.channels_per_user <= 20 or self.channel_size < 2:
            msg = f"scenario {self.name!r}: channels_per_user 1-20, channel_size >= 2"
            raise ValueError(msg)

    def uses(self, action: str) -> bool:
        """Whether ticks ever pick ``action``."""
        return any(a == action and w > 0 for a, w in self.mix)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("peer", "1:1 chat: each user messages its partner", mix=((PEER, 1.0),)),
        Scenario(
            "channel",
            "group chat: channels of 10, each user in 2 channels",
            mix=((CHANNEL, 1.0),),
            channels_per_user=2,
        ),
        Scenario(
            "presence",
            "presence: each user watches 5 peers and queries them; 30% log out and in",
            mix=((QUERY, 1.0),),
            subscriptions=5,
            churn=0.3,
        ),
        Scenario(
            "invite",
            "call invitations: each user calls its partner, who accepts",
            mix=((INVITE, 1.0),),
        ),
        Scenario(
            "storm",
            "login storm: everyone logs in at once, chats, drops and logs in again at once",
            mix=((PEER, 1.0),),
            storm=True,
        ),
        Scenario(
            "mixed",
            "peer 50%, channel 30%, presence queries 10%, invitations 10%",
            mix=((PEER, 5.0), (CHANNEL, 3.0), (QUERY, 1.0), (INVITE, 1.0)),
            subscriptions=3,
        ),
    )
}


def register_scenario(scenario: Scenario) -> Scenario:
    """Make ``scenario`` available by name (to ``--scenario`` and ``build_plan``)."""
    SCENARIOS[scenario.name] = scenario
    return scenario


class SplitMix:
    """A tiny deterministic generator (SplitMix64) for each user's ticks.

    One integer of state instead of ``random.Random``'s ~3 KiB, which matters with
    thousands of users per process; the same seed gives the same numbers anywhere.
    """

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK

    def next64(self) -> int:
        """The next 64-bit number."""
        self._state = z = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1)."""
        return (self.next64() >> 11) / 9007199254740992.0

    def choice(self, items: tuple[str, ...]) -> str:
        """One of ``items`` (not empty)."""
        return items[int(self.random() * len(items))]


_MASK = (1 << 64) - 1


class PlannedAction(NamedTuple):
    """One planned action: at ``at`` seconds into the traffic phase, do ``action`` to
    ``target`` (a user id, or a channel id for channel messages).

    A named tuple: one is made per tick, and a frozen dataclass took 1.2 us to make
    against 0.3 us."""

    at: float
    action: str
    target: str


@dataclass(frozen=True, slots=True)
class UserPlan:
    """Everything one simulated user does in a run."""

    index: int
    user_id: str
    seed: int
    #: Seconds into the traffic phase of the first tick (spreads users over a period).
    offset: float
    partners: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()
    #: Seconds into the traffic phase when this user logs out, then logs in again.
    drops: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole run, decided up front from the seed."""

    scenario: Scenario
    seed: int
    rate: float
    duration: float
    users: tuple[UserPlan, ...]
    #: Channel id -> member ids, in join order.
    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def shard(self, worker: int, workers: int) -> tuple[UserPlan, ...]:
        """The users worker ``worker`` (0-based) of ``workers`` runs: every K-th one."""
        return self.users[worker::workers]

    def ticks(self, user: UserPlan) -> Iterator[PlannedAction]:
        """``user``'s actions in time order: one every ``1/rate`` s from its offset,
        skipping the quiet spells around its drops. Same plan, same ticks."""
        actions = [a for a, w in self.scenario.mix if w > 0]
        pools = {a: _pool(user, a) for a in actions}
        if len(actions) == 1 and len(pools[actions[0]]) <= 1:
            # One action at one target: the draws could not change a tick, skip them.
            action = actions[0]
            return (
                PlannedAction(at, action, target)
                for target in pools[action]
                for at in self._times(user)
                if not (user.drops and _blocked(at, user.drops, self.scenario.down_for))
            )
        return self._drawn_ticks(user, actions, pools)

    def _drawn_ticks(
        self, user: UserPlan, actions: list[str], pools: dict[str, tuple[str, ...]]
    ) -> Iterator[PlannedAction]:
        weights = list(itertools.accumulate(w for a, w in self.scenario.mix if w > 0))
        total = weights[-1]
        draw = SplitMix(user.seed).random
        for at in self._times(user):
            action = actions[bisect.bisect_right(weights, draw() * total)]
            pool = pools[action]
            if not pool:
                continue
            target = pool[int(draw() * len(pool))]
            if user.drops and _blocked(at, user.drops, self.scenario.down_for):
                continue
            yield PlannedAction(at, action, target)

    def _times(self, user: UserPlan) -> Iterator[float]:
        """Every ``1/rate`` s from ``user``'s offset to the end of the traffic."""
        if self.rate <= 0:
            return
        interval = 1.0 / self.rate
        k = 0
        while (at := user.offset + k * interval) < self.duration:
            k += 1
            yield at


def _pool(user: UserPlan, action: str) -> tuple[str, ...]:
    """Whom ``user`` picks from for ``action``."""
    if action == CHANNEL:
        return user.channels
    if action == QUERY:
        return user.subscriptions or user.partners
    return user.partners


def _blocked(at: float, drops: tuple[float, ...], down_for: float) -> bool:
    """Whether ``at`` falls in the quiet spell before a drop or while the user is away."""
    return any(t - QUIET_BEFORE_DROP <= at < t + down_for + SETTLE_AFTER_DROP for t in drops)


def user_id(prefix: str, index: int) -> str:
    """The id of simulated user ``index``."""
    return f"{prefix}{index}"


def build_plan(
    scenario: Scenario | str,
    users: int,
    *,
    seed: int = 1,
    rate: float = 1.0,
    duration: float = 30.0,
    prefix: str = "lt",
) -> Plan:
    """The plan of a run: same arguments, same plan, in any process.

    Args:
        scenario: a ``Scenario`` or the name of a registered one.
        users: how many simulated users.
        seed: the seed every random choice derives from.
        rate: actions per user per second.
        duration: seconds of traffic.
        prefix: user ids are ``<prefix><index>``.
    """
    if isinstance(scenario, str):
        scenario = SCENARIOS[scenario]
    if users < 1:
        msg = "a plan needs at least one user"
        raise ValueError(msg)
    rng = random.Random(f"rtm-loadtest/{seed}/{scenario.name}/{users}")
    ids = [user_id(prefix, i) for i in range(users)]
    partners = _ring(ids, scenario.partners, rng)
    memberships, channels = _channels(ids, scenario, rng, prefix)
    watched = _subscriptions(ids, scenario.subscriptions, rng)
    drops = _drops(ids, scenario, duration, rng)
    interval = 1.0 / rate if rate > 0 else 0.0
    plans = tuple(
        UserPlan(
            index=i,
            user_id=uid,
            seed=rng.getrandbits(63),
            offset=rng.random() * interval,
            partners=partners[uid],
            channels=memberships[uid],
            subscriptions=watched[uid],
            drops=drops.get(uid, ()),
        )
        for i, uid in enumerate(ids)
    )
    return Plan(scenario, seed, rate, duration, plans, channels)


def _ring(ids: list[str], count: int, rng: random.Random) -> dict[str, tuple[str, ...]]:
    """Each user talks to the next ``count`` users of a shuffled ring (never itself)."""
    order = ids[:]
    rng.shuffle(order)
    n = len(order)
    count = min(count, n - 1)
    return {
        uid: tuple(order[(k + j) % n] for j in range(1, count + 1)) for k, uid in enumerate(order)
    }


def _channels(
    ids: list[str], scenario: Scenario, rng: random.Random, prefix: str
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Channels of ``channel_size``: one shuffled partition of the users per round."""
    memberships: dict[str, list[str]] = {uid: [] for uid in ids}
    channels: dict[str, tuple[str, ...]] = {}
    if not scenario.uses(CHANNEL) or len(ids) < 2:
        return dict.fromkeys(ids, ()), channels
    count = max(1, math.ceil(len(ids) / scenario.channel_size))
    for round_ in range(scenario.channels_per_user):
        order = ids[:]
        rng.shuffle(order)
        for j in range(count):
            members = tuple(order[j::count])
            if len(members) < 2:
                continue
            channel = f"{prefix}-ch{round_}-{j}"
            channels[channel] = members
            for uid in members:
                memberships[uid].append(channel)
    return {uid: tuple(chs) for uid, chs in memberships.items()}, channels


def _subscriptions(ids: list[str], count: int, rng: random.Random) -> dict[str, tuple[str, ...]]:
    count = min(count, len(ids) - 1)
    if count <= 0:
        return dict.fromkeys(ids, ())
    result = {}
    for k, uid in enumerate(ids):
        others = rng.sample(range(len(ids) - 1), count)
        # Skip over the user itself: indexes at or past k shift by one.
        result[uid] = tuple(ids[o + 1 if o >= k else o] for o in others)
    return result


def _drops(
    ids: list[str], scenario: Scenario, duration: float, rng: random.Random
) -> dict[str, tuple[float, ...]]:
    if scenario.storm:
        return dict.fromkeys(ids, (scenario.drop_at * duration,))
    churners = round(scenario.churn * len(ids))
    if churners <= 0:
        return {}
    chosen = rng.sample(ids, churners)
    return {uid: (duration * (0.2 + 0.5 * rng.random()),) for uid in chosen}


def with_overrides(scenario: Scenario, **changes: Any) -> Scenario:
    """A copy of ``scenario`` with some fields changed (e.g. ``channel_size``)."""
    return replace(scenario, **changes)
