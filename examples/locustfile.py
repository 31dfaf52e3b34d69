"""The smallest locustfile: 1:1 chat between SDK users, against `rtm-actors serve`.

    rtm-actors serve &
    locust -f examples/locustfile.py --headless -u 100 -r 50 -t 30s \
        --host ws://127.0.0.1:8700/rtm
"""

from rtm_actors.locust import PeerTasks, RtmUser


class ChatUser(RtmUser):
    tasks = [PeerTasks]
