"""Every measured call once in a while, and one user whose peer never exists."""

from locust import task

from rtm_actors.locust import InviteTasks, MixedTasks, PresenceTasks, RtmUser


class Mixed(RtmUser):
    tasks = [MixedTasks]


class Presence(RtmUser):
    prefix = "pr"
    tasks = [PresenceTasks]


class Caller(RtmUser):
    prefix = "call"
    tasks = [InviteTasks]


class Lonely(RtmUser):
    prefix = "lonely"
    fixed_count = 1

    @task
    def to_nobody(self):
        self.client.send_peer("nobody-here")
