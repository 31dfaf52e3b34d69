"""Every measured call within a few seconds, and one user whose peer never exists."""

from locust import task

from rtm_actors.locust import (
    ChannelTasks,
    InviteTasks,
    MixedTasks,
    PresenceTasks,
    RtmUser,
)


class PresenceEvenly(PresenceTasks):
    # Queries and attribute ops alike, so a short run surely has both.
    tasks = {PresenceTasks.query_peer: 1, PresenceTasks.attributes: 1}


class Mixed(RtmUser):
    tasks = [MixedTasks]


class Group(RtmUser):
    prefix = "grp"
    tasks = [ChannelTasks]


class Presence(RtmUser):
    prefix = "pr"
    tasks = [PresenceEvenly]


class Caller(RtmUser):
    prefix = "call"
    tasks = [InviteTasks]


class Lonely(RtmUser):
    prefix = "lonely"
    fixed_count = 1

    @task
    def to_nobody(self):
        self.client.send_peer("nobody-here")
