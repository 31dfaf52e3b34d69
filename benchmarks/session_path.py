"""The server's own cost per peer message, in one process, with no load generator.

Two sessions on socket pairs (a reader greenlet drains the far ends), driven the way
their gateways drive them: ``FrameIn(SendPeerMessage)`` to the sender, which delivers
to the receiver; ``FrameIn(Ack)`` to the receiver, which gives the sender its receipt.
What it times is the session path alone (actor turns, checks, windows, encoding,
writes), so a change to it shows here in seconds, undisturbed by the machine's other
core. ``--profile`` adds a cProfile table of the same loop.

    python benchmarks/session_path.py --messages 50000 [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import types
from collections.abc import Callable
from typing import Any

import gevent
import gevent.socket

from rtm_actors.log import configure_logging
from rtm_actors.protocol.frames import Ack, SendPeerMessage, WireMessage
from rtm_actors.runtime import Supervisor, tell_or_run_inline
from rtm_actors.runtime.gctune import tune_for_server
from rtm_actors.server import messages as m
from rtm_actors.server.config import ServerConfig
from rtm_actors.server.context import ServerContext
from rtm_actors.server.link import Link
from rtm_actors.server.session import start_session
from rtm_actors.store.memory import MemoryOfflineStore


def attach(ctx: ServerContext, user_id: str) -> tuple[Any, Link]:
    """A session for ``user_id`` with a link on a socket pair whose far end is drained."""
    ours, theirs = gevent.socket.socketpair()
    link = Link(types.SimpleNamespace(handler=types.SimpleNamespace(socket=ours)), user_id)
    ref = start_session(ctx.supervisor, ctx.sessions, "app", user_id, "key-" + user_id)
    ctx.directory.register(("app", user_id), ref, "key-" + user_id)
    tell_or_run_inline(ref, m.Attach(link, 1, resumed=False))

    def drain() -> None:
        while theirs.recv(1 << 20):
            pass

    gevent.spawn(drain)
    return ref, link


def run(sender: tuple[Any, Link], receiver: tuple[Any, Link], count: int, first: int) -> None:
    """Send ``count`` messages and acknowledge each; yield every 16 (a round's worth)."""
    (alice, alice_link), (bob, bob_link) = sender, receiver
    seq = first  # bob's pushes so far: login_ok is not numbered; messages are
    for i in range(first, first + count):
        message = WireMessage(i, 1, "hello world")
        tell_or_run_inline(alice, m.FrameIn(alice_link.id, SendPeerMessage(i, "bob", message), 0.0))
        seq += 1
        tell_or_run_inline(bob, m.FrameIn(bob_link.id, Ack(seq), 0.0))
        if i % 16 == 0:
            gevent.sleep(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("warning")
    tune_for_server()
    ctx = ServerContext(config=ServerConfig(message_rate=10**9), store=MemoryOfflineStore())
    ctx.supervisor = Supervisor.start(name="bench")
    alice, bob = attach(ctx, "alice"), attach(ctx, "bob")
    run(alice, bob, 2_000, 0)  # warm up
    started = time.perf_counter()
    run(alice, bob, args.messages, 2_000)
    elapsed = time.perf_counter() - started
    print(f"{args.messages} messages: {elapsed / args.messages * 1e6:.1f} us each")
    if args.profile:
        profiled(lambda: run(alice, bob, args.messages, 2_000 + args.messages))
    return 0


def profiled(work: Callable[[], object], top: int = 25) -> None:
    """Run ``work`` under cProfile and print its ``top`` functions by own time."""
    profile = cProfile.Profile()
    profile.enable()
    work()
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    raise SystemExit(main())
