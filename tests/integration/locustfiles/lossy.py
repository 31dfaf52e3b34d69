"""1:1 chat whose receivers ignore every 4th message, as if the network lost it."""

from rtm_actors.loadtest.stats import parse_stamp
from rtm_actors.locust import PeerTasks, RtmClient, RtmUser


class LossyClient(RtmClient):
    def delivered(self, stream, key, text):
        stamped = parse_stamp(text)
        if stamped is not None and stamped[1] % 4 == 0:
            return
        super().delivered(stream, key, text)


class LossyChat(RtmUser):
    client_class = LossyClient
    tasks = [PeerTasks]
