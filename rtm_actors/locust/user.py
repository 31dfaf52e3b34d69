"""``RtmUser``: a Locust user whose client is a real, measured ``RtmService``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, ClassVar

from locust import User
from locust.env import Environment

from rtm_actors.loadtest.scenario import SplitMix
from rtm_actors.locust.client import RtmClient
from rtm_actors.locust.plugin import option, seats_for, state_of


def plan_pacing(seconds: float) -> Callable[[Any], float]:
    """A task every ``seconds``, each user at its own phase from the plan, on a grid of
    the wall clock (the load tool's fixed schedule).

    Locust's ``constant_pacing`` keeps each user's first step: users that a spawn burst
    or a busy login wave released together stay in step for the whole run, every one
    sending in the same few milliseconds of each second, and a message waits behind
    the burst (delivery p50 35-100 ms at 500 users where the load tool measures 1 ms).
    On a grid a late task only skips to its next slot, so the phases stay spread.
    """

    def wait(user: Any) -> float:
        phase: float = (user.plan.offset % 1.0) * seconds
        return (phase - time.time()) % seconds

    return wait


class RtmUser(User):
    """A Locust user with an SDK client: logs in on start, out on stop.

    ``self.client`` is an ``RtmClient`` (its ``service`` is the ``RtmService``); every
    call made through it is reported to Locust. ``self.plan`` is this user's part of
    the load tool's seeded plan (``partners``, ``channels``, ``subscriptions``), the
    same for the same ``--rtm-seed`` as in ``rtm-actors loadtest``; ``self.random``
    is seeded from it. Set ``tasks`` (for example ``[PeerTasks]``) or write your own.

    ``--host`` is the server's websocket URL (``ws://127.0.0.1:8700/rtm``).
    """

    abstract = True
    #: One task a second per user, at its phase of the plan (the load tool's ``--rate 1``).
    wait_time = plan_pacing(1.0)
    #: The app id to log in with.
    app_id: ClassVar[str] = "locust"
    #: The load scenario the plan is built from; default: the first task set's.
    scenario: ClassVar[str | None] = None
    #: User ids are ``<prefix><n>``; give user classes of one run distinct prefixes.
    prefix: ClassVar[str | None] = None
    #: The client each user gets (a subclass may change how deliveries are handled).
    client_class: ClassVar[type[RtmClient]] = RtmClient

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        scenario = self.scenario or _scenario_of(self.tasks)
        prefix = self.prefix or str(option(environment, "rtm_prefix", "lt"))
        self._seats = seats_for(environment, scenario, prefix)
        self.plan = self._seats.take()
        self._random: random.Random | None = None
        # The built-in tasks' choices: one integer of state, not random.Random's ~2.5 KiB.
        self._picks = SplitMix(self.plan.seed)
        state = state_of(environment)
        self.client = self.client_class(
            state.agora,
            self.host or "",
            self.app_id,
            self.plan.user_id,
            environment.events.request.fire,
            state.ledger,
            int(option(environment, "rtm_message_size", 64)),
            state.config,
        )

    @property
    def random(self) -> random.Random:
        """This user's random numbers, seeded from the plan (made on first use)."""
        if self._random is None:
            self._random = random.Random(self.plan.seed)
        return self._random

    def pick(self, items: tuple[str, ...]) -> str:
        """One of ``items`` (not empty), from this user's seeded sequence."""
        return self._picks.choice(items)

    @property
    def user_id(self) -> str:
        """The id this user logs in as."""
        return self.plan.user_id

    def on_start(self) -> None:
        """Log in (reported as ``login``)."""
        self.client.login()

    def on_stop(self) -> None:
        """Log out, stop the SDK's actors, and free this user's place in the plan."""
        self.client.logout()
        self._seats.give_back(self.plan)


def _scenario_of(tasks: Any) -> str:
    """The ``scenario`` of the first task set among ``tasks`` that names one."""
    for item in tasks or ():
        name = getattr(item, "scenario", None)
        if isinstance(name, str):
            return name
    return "peer"
