"""The load tool: many simulated users, each a real SDK client, measured end to end.

Write your own scenario with the Locust-like API (see ``docs/loadtest.md``)::

    from rtm_actors.loadtest import SimulatedUser, between, task

    class Chatty(SimulatedUser):
        wait_time = between(0.5, 1.5)

        @task(3)
        def chat(self):
            self.send_peer(self.random.choice(self.plan.partners))

and run it with ``run_load(LoadOptions(user_class="my_module:Chatty", users=500))`` or
``rtm-actors loadtest --user-class my_module:Chatty --users 500``.

Names are exported lazily (PEP 562), so the command line can register the
``loadtest`` subcommand without importing the SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtm_actors.loadtest.options import LoadOptions as LoadOptions
    from rtm_actors.loadtest.runner import (
        LoadError as LoadError,
        LoadResult as LoadResult,
        run_load as run_load,
    )
    from rtm_actors.loadtest.scenario import (
        SCENARIOS as SCENARIOS,
        Plan as Plan,
        Scenario as Scenario,
        UserPlan as UserPlan,
        build_plan as build_plan,
        register_scenario as register_scenario,
    )
    from rtm_actors.loadtest.stats import Stats as Stats
    from rtm_actors.loadtest.user import (
        SimulatedUser as SimulatedUser,
        between as between,
        constant as constant,
        constant_pacing as constant_pacing,
        constant_throughput as constant_throughput,
        task as task,
    )

_EXPORTS = {
    "LoadError": "rtm_actors.loadtest.runner",
    "LoadOptions": "rtm_actors.loadtest.options",
    "LoadResult": "rtm_actors.loadtest.runner",
    "Plan": "rtm_actors.loadtest.scenario",
    "SCENARIOS": "rtm_actors.loadtest.scenario",
    "Scenario": "rtm_actors.loadtest.scenario",
    "SimulatedUser": "rtm_actors.loadtest.user",
    "Stats": "rtm_actors.loadtest.stats",
    "UserPlan": "rtm_actors.loadtest.scenario",
    "between": "rtm_actors.loadtest.user",
    "build_plan": "rtm_actors.loadtest.scenario",
    "constant": "rtm_actors.loadtest.user",
    "constant_pacing": "rtm_actors.loadtest.user",
    "constant_throughput": "rtm_actors.loadtest.user",
    "register_scenario": "rtm_actors.loadtest.scenario",
    "run_load": "rtm_actors.loadtest.runner",
    "task": "rtm_actors.loadtest.user",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
