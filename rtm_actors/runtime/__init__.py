"""pykka on gevent: the actor base, futures, timers, supervision, offloading.

The only package (with the server's socket layer and the CLI) that touches gevent.
"""

from rtm_actors.runtime.actor import (
    GeventActor,
    GeventFuture,
    GeventInbox,
    ask_or_run_inline,
    tell_or_run_inline,
)
from rtm_actors.runtime.cooperative import Yielder, tell_all
from rtm_actors.runtime.messages import Adopt, ChildExited
from rtm_actors.runtime.offload import Offloader
from rtm_actors.runtime.refs import Ref
from rtm_actors.runtime.registry import Registry, registry
from rtm_actors.runtime.supervisor import ChildSpec, Supervisor
from rtm_actors.runtime.timers import NamedTimers, call_later, now

__all__ = [
    "Adopt",
    "ChildExited",
    "ChildSpec",
    "GeventActor",
    "GeventFuture",
    "GeventInbox",
    "NamedTimers",
    "Offloader",
    "Ref",
    "Registry",
    "Supervisor",
    "Yielder",
    "ask_or_run_inline",
    "call_later",
    "now",
    "registry",
    "tell_all",
    "tell_or_run_inline",
]
