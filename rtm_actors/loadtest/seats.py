"""Which user of the seeded plan each user started on the fly plays (Locust's).

``build_plan`` decides up front who talks to whom and who is in which channel; Locust
spawns users one by one, in several processes. A process's ``Seats`` hands out plan
users ``w, w+K, w+2K, ...`` (worker ``w`` of ``K``, as the load tool's ``--workers``
do), so the same seed pairs the same users whatever process runs them. A stopped
user gives its seat back for the next one. No Locust here, so it is tested without.
"""

from __future__ import annotations

import heapq
from functools import lru_cache

import structlog

from rtm_actors.loadtest.scenario import Plan, UserPlan, build_plan

log = structlog.get_logger("rtm_actors.loadtest")


@lru_cache(maxsize=16)
def cached_plan(scenario: str, users: int, seed: int, prefix: str) -> Plan:
    """The plan (pairing, channels, subscriptions) for these arguments, built once a
    process; the traffic schedule is Locust's, so rate and duration do not matter."""
    return build_plan(scenario, users, seed=seed, prefix=prefix)


class Seats:
    """The plan users one process may play, lowest index first."""

    def __init__(self, plan: Plan, worker_index: int, worker_count: int) -> None:
        self.plan = plan
        self._worker_index = worker_index
        self._free = [u.index for u in plan.shard(worker_index, max(1, worker_count))]
        heapq.heapify(self._free)
        self._extra = 0

    def take(self) -> UserPlan:
        """A free plan user; past the plan's end an unpaired one (logged once)."""
        if self._free:
            return self.plan.users[heapq.heappop(self._free)]
        self._extra += 1
        if self._extra == 1:
            log.warning(
                "locust_users_beyond_plan",
                plan_users=len(self.plan.users),
                hint="raise --rtm-plan-users, or pass --expect-workers to every process",
            )
        prefix = self.plan.users[0].user_id.rstrip("0123456789")
        return UserPlan(-1, f"{prefix}x{self._worker_index}-{self._extra}", self._extra, 0.0)

    def give_back(self, user: UserPlan) -> None:
        """A Locust user stopped: its plan user is free again."""
        if user.index >= 0:
            heapq.heappush(self._free, user.index)
