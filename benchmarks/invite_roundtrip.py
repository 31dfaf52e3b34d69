"""Call invitation round trips (send -> accepted at the caller) per second, with latency
percentiles: ``--pairs`` callers each keep one invitation in flight to their callee, who
accepts at once. The server runs in its own process.

    python benchmarks/invite_roundtrip.py --pairs 50 --seconds 10
"""

from __future__ import annotations

import argparse
import sys
import time

import gevent
import gevent.event
from harness import client, log_in_all, percentile, server_process

import rtm_actors as ra


class Callee(ra.RtmCallEventHandler):
    """Accepts every invitation as soon as it arrives."""

    def __init__(self) -> None:
        self.manager: ra.RtmCallManager | None = None

    def on_remote_invitation_received(self, remote_invitation):
        assert self.manager is not None
        self.manager.accept_remote_invitation(remote_invitation)


class Caller(ra.RtmCallEventHandler):
    """Wakes the sending loop when its invitation is accepted (or fails)."""

    def __init__(self) -> None:
        self.done = gevent.event.Event()

    def on_local_invitation_accepted(self, local_invitation, response):
        self.done.set()

    def on_local_invitation_failure(self, local_invitation, error_code):
        self.done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18768)
    args = parser.parse_args(argv)
    with server_process(args.port) as server:
        agora = ra.create_agora_service()
        callers = [client(agora, server.url) for _ in range(args.pairs)]
        callees = [client(agora, server.url) for _ in range(args.pairs)]
        log_in_all(callers, "caller")
        log_in_all(callees, "callee")
        for rtm in callees:
            handler = Callee()
            handler.manager = rtm.get_rtm_call_manager(handler)
        latencies: list[float] = []
        stop_at = time.perf_counter() + args.seconds

        def loop(i: int) -> None:
            handler = Caller()
            manager = callers[i].get_rtm_call_manager(handler)
            assert manager is not None
            while time.perf_counter() < stop_at:
                handler.done.clear()
                invitation = manager.create_local_call_invitation(f"callee{i}")
                started = time.perf_counter()
                manager.send_local_invitation(invitation)
                handler.done.wait(30)
                if invitation.state is ra.LocalInvitationState.ACCEPTED_BY_REMOTE:
                    latencies.append(time.perf_counter() - started)

        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        gevent.joinall([gevent.spawn(loop, i) for i in range(args.pairs)])
        elapsed = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
        n = len(latencies)
        print(
            f"pairs={args.pairs} accepted={n} in {elapsed:.1f}s = {n / elapsed:,.0f} round trips/s"
        )
        p50, p99 = (1000 * percentile(latencies, p) for p in (50, 99))
        print(f"send->accepted ms: p50={p50:.1f} p99={p99:.1f}")
        print(f"server_cpu={cpu:.2f}s = {cpu / max(n, 1) * 1e6:.0f} us/round trip")
        agora.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
