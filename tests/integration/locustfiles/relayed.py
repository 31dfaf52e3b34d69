"""Group chat in which every user sends four channel messages a second.

Run through a relay that drops channel messages on the way to their members: a
channel message is not numbered per member, so one dropped on a live link is lost for
good and the tally must count it (a dropped peer message would be sent again).
"""

from rtm_actors.locust import ChannelTasks, RtmUser, plan_pacing


class GroupChat(RtmUser):
    scenario = "channel"
    wait_time = plan_pacing(0.25)
    tasks = [ChannelTasks]
