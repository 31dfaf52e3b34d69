"""Load tests on Locust with real SDK clients (``pip install "rtm-actors[locust]"``).

``RtmUser`` is a Locust user whose client is a measured ``RtmService``; the task
sets mirror ``rtm-actors loadtest``'s scenarios with the same seeded plan; importing
this module adds the ``--rtm-*`` options and the cross-worker loss and duplicate
tally to the Locust process (see docs/loadtest.md).
"""

# Locust monkey-patches the process when imported: let it do so before the SDK's
# gevent, pykka and socket users are loaded (importing rtm_actors never patches).
import locust  # noqa: F401  (first, on purpose)

from rtm_actors.loadtest.tally import Ledger, Tally
from rtm_actors.locust.client import DELIVERY, RTM, RtmCallError, RtmClient
from rtm_actors.locust.plugin import install
from rtm_actors.locust.tasks import (
    ChannelTasks,
    InviteTasks,
    MixedTasks,
    PeerTasks,
    PresenceTasks,
    RtmTasks,
)
from rtm_actors.locust.user import RtmUser, plan_pacing

install()

__all__ = [
    "DELIVERY",
    "RTM",
    "ChannelTasks",
    "InviteTasks",
    "Ledger",
    "MixedTasks",
    "PeerTasks",
    "PresenceTasks",
    "RtmCallError",
    "RtmClient",
    "RtmTasks",
    "RtmUser",
    "Tally",
    "plan_pacing",
]
