"""The server's own cost per call invitation round trip, in one process, no load generator.

A caller's and a callee's session on socket pairs (``session_path.attach``: a reader
greenlet drains the far ends) and the node's invitation desk, driven with the frames
the ``invite`` workload's clients send, in the order they send them: the caller's
``invite``; the callee's ``ack`` of "received" and its ``answer_invite`` (one read);
the caller's ``ack`` of "received_by_peer" and "accepted" (one read); the callee's
``ack`` of "accepted". What it times is the invitation path alone (session turns, the
desk, its machine and timers, encoding, writes), so a change to it shows here in
seconds, undisturbed by the machine's other core. ``--profile`` adds a cProfile table
of the same loop.

    python benchmarks/invite_path.py --invitations 20000 [--profile]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gevent
from session_path import attach, profiled

from rtm_actors.log import configure_logging
from rtm_actors.protocol.frames import Ack, AnswerInvitation, SendInvitation
from rtm_actors.runtime import Supervisor, tell_or_run_inline
from rtm_actors.runtime.gctune import tune_for_server
from rtm_actors.server import messages as m
from rtm_actors.server.config import ServerConfig
from rtm_actors.server.context import ServerContext
from rtm_actors.server.invitation_actor import desk_headcount
from rtm_actors.server.invitation_desk import start_desk
from rtm_actors.server.link import Link
from rtm_actors.store.memory import MemoryOfflineStore


def run(caller: tuple[Any, Link], callee: tuple[Any, Link], count: int, first: int) -> None:
    """``count`` invitations, each accepted; yield after each (a read's worth)."""
    (alice, alice_link), (bob, bob_link) = caller, callee
    # Each side gets two numbered pushes per invitation (login_ok is not numbered).
    for i in range(first, first + count):
        tell_or_run_inline(alice, m.FrameIn(alice_link.id, SendInvitation(-3, i, "bob"), 0.0))
        tell_or_run_inline(bob, m.FrameIn(bob_link.id, Ack(2 * i + 1), 0.0))
        answer = AnswerInvitation(-2, "alice", i, accept=True)
        tell_or_run_inline(bob, m.FrameIn(bob_link.id, answer, 0.0))
        gevent.sleep(0)
        tell_or_run_inline(alice, m.FrameIn(alice_link.id, Ack(2 * i + 2), 0.0))
        gevent.sleep(0)
        tell_or_run_inline(bob, m.FrameIn(bob_link.id, Ack(2 * i + 2), 0.0))
        gevent.sleep(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("warning")
    tune_for_server()
    config = ServerConfig(invitation_rate=(10**9, 5.0))
    ctx = ServerContext(config=config, store=MemoryOfflineStore())
    ctx.supervisor = Supervisor.start(name="bench")
    ctx.invitation_desk = start_desk(ctx.desk_services(), ctx.supervisor)
    alice, bob = attach(ctx, "alice"), attach(ctx, "bob")
    run(alice, bob, 2_000, 0)  # warm up
    started = time.perf_counter()
    run(alice, bob, args.invitations, 2_000)
    elapsed = time.perf_counter() - started
    accepted = ctx.metrics.invitations["accepted"]
    print(
        f"{args.invitations} invitations: {elapsed / args.invitations * 1e6:.1f} us each"
        f" ({accepted} accepted, {desk_headcount(ctx).invitations} in flight)"
    )
    if args.profile:
        profiled(lambda: run(alice, bob, args.invitations, 2_000 + args.invitations), top=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
