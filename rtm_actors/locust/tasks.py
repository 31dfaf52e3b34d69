"""Task sets that mirror ``rtm-actors loadtest``'s scenarios, for an ``RtmUser``.

Each names its scenario, so the user's plan has that scenario's pairing, channels
and subscriptions; ``MixedTasks`` takes its weights from the scenario's ``mix``, so
both tools draw the same actions in the same proportions. Start from one and edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

from locust import TaskSet, task

from rtm_actors.loadtest.scenario import CHANNEL, INVITE, PEER, QUERY, SCENARIOS
from rtm_actors.locust.user import RtmUser


class RtmTasks(TaskSet):
    """Set-up shared by the built-in task sets: join the planned channels, watch the
    planned peers; the actions a scenario's ticks can take."""

    scenario: ClassVar[str] = "peer"

    @property
    def rtm(self) -> RtmUser:
        """The ``RtmUser`` running this task set."""
        return cast(RtmUser, self.user)

    def on_start(self) -> None:
        """Join the plan's channels and subscribe to its peers (both reported)."""
        plan = self.rtm.plan
        for channel_id in plan.channels:
            self.rtm.client.join(channel_id)
        if plan.subscriptions:
            self.rtm.client.subscribe(plan.subscriptions)

    def peer(self) -> None:
        """Message a partner (``send_message_to_peer``; its delivery: ``delivery peer``)."""
        partners = self.rtm.plan.partners
        if partners:
            self.rtm.client.send_peer(self.rtm.pick(partners))

    def channel(self) -> None:
        """Message one of the plan's channels (``channel.send_message``)."""
        channels = self.rtm.plan.channels
        if channels:
            self.rtm.client.send_channel(self.rtm.pick(channels))

    def query(self) -> None:
        """Query a watched peer's status (``query_peers_online_status``)."""
        pool = self.rtm.plan.subscriptions or self.rtm.plan.partners
        if pool:
            self.rtm.client.query([self.rtm.pick(pool)])

    def invite(self) -> None:
        """Call a partner and wait until it accepts (``invitation``)."""
        partners = self.rtm.plan.partners
        if partners:
            self.rtm.client.invite(self.rtm.pick(partners))


class PeerTasks(RtmTasks):
    """1:1 chat: each user messages its partner (a ring over a shuffle of the users)."""

    scenario = "peer"

    @task
    def send_peer(self) -> None:
        """One peer message."""
        self.peer()


class ChannelTasks(RtmTasks):
    """Group chat: each user is in 2 channels of 10 and messages one of them."""

    scenario = "channel"

    @task
    def send_channel(self) -> None:
        """One channel message."""
        self.channel()


class PresenceTasks(RtmTasks):
    """Presence: each user watches 5 peers and queries them, and sets its attributes."""

    scenario = "presence"

    @task(4)
    def query_peer(self) -> None:
        """One presence query."""
        self.query()

    @task(1)
    def attributes(self) -> None:
        """Set this user's attributes and read a partner's (attribute ops)."""
        client = self.rtm.client
        client.set_attributes({"status": self.rtm.pick(("free", "busy"))})
        if self.rtm.plan.partners:
            client.get_attributes(self.rtm.plan.partners[0])


class InviteTasks(RtmTasks):
    """Call invitations: each user calls its partner, who accepts."""

    scenario = "invite"

    @task
    def call(self) -> None:
        """One invitation round trip."""
        self.invite()


_ACTIONS: dict[str, Callable[[RtmTasks], None]] = {
    PEER: RtmTasks.peer,
    CHANNEL: RtmTasks.channel,
    QUERY: RtmTasks.query,
    INVITE: RtmTasks.invite,
}


def _weighted(scenario: str) -> dict[Any, int]:
    """Locust's ``{task: weight}`` from a scenario's ``mix`` (weights as integers)."""
    mix = SCENARIOS[scenario].mix
    scale = 1.0 / min(w for _, w in mix if w > 0)
    return {_ACTIONS[action]: round(w * scale) for action, w in mix if w > 0}


class MixedTasks(RtmTasks):
    """Peer 50%, channel 30%, presence queries 10%, invitations 10%."""

    scenario = "mixed"
    tasks = _weighted("mixed")  # type: ignore[assignment]
