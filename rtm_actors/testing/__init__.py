"""A test kit for applications (and our own suite): servers on loopback, event recorders."""

from rtm_actors.testing.proxy import CuttableProxy
from rtm_actors.testing.recorder import EventRecorder, wait_until
from rtm_actors.testing.server import (
    fast_client_config,
    fast_server_config,
    running_server,
)

__all__ = [
    "CuttableProxy",
    "EventRecorder",
    "fast_client_config",
    "fast_server_config",
    "running_server",
    "wait_until",
]
