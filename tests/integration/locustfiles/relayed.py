"""1:1 chat in which every user has three partners and sends four times a second.

Run through a relay that drops messages: a user's dropped message is covered by the
acknowledgement of a later message from one of its other two senders, so the server
gives the blocked sender its receipt soon and the tally can count the message lost.
"""

from rtm_actors.loadtest.scenario import SCENARIOS, register_scenario, with_overrides
from rtm_actors.locust import PeerTasks, RtmUser, plan_pacing

register_scenario(with_overrides(SCENARIOS["peer"], name="peer3", partners=3))


class Chat(RtmUser):
    scenario = "peer3"
    wait_time = plan_pacing(0.25)
    tasks = [PeerTasks]
