"""A test kit for applications (and our own suite): servers on loopback, event recorders,
a fake clock, websockets without a port, and relays that cut or lose traffic."""

from rtm_actors.testing.clock import FakeClock, end_round, settle
from rtm_actors.testing.memory_link import (
    FrameClient,
    MemoryWebSocket,
    memory_link_pair,
    serve_in_memory,
)
from rtm_actors.testing.proxy import CuttableProxy
from rtm_actors.testing.recorder import EventRecorder, wait_until
from rtm_actors.testing.relay import DroppingRelay
from rtm_actors.testing.server import (
    fast_client_config,
    fast_server_config,
    running_server,
)

__all__ = [
    "CuttableProxy",
    "DroppingRelay",
    "EventRecorder",
    "FakeClock",
    "FrameClient",
    "MemoryWebSocket",
    "end_round",
    "fast_client_config",
    "fast_server_config",
    "memory_link_pair",
    "running_server",
    "serve_in_memory",
    "settle",
    "wait_until",
]
