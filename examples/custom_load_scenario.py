"""A load scenario of your own, written with the load tool's Locust-like Python API.

    python examples/custom_load_scenario.py                       # 50 users, 10 s
    python examples/custom_load_scenario.py --users 500 --duration 60 --workers 2
    python examples/custom_load_scenario.py --url ws://127.0.0.1:8700/rtm --html r.html

A support desk: agents sit in team channels of 5, chat one to one with a partner,
post in their team channel and now and then check whether the people they watch are
online. Each simulated user is a real SDK client; every message is measured end to
end. The same class runs from the command line too:

    rtm-actors loadtest --user-class examples/custom_load_scenario.py:SupportAgent
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rtm_actors.loadtest import LoadOptions, Scenario, SimulatedUser, between, run_load, task
from rtm_actors.loadtest.html_report import write_html
from rtm_actors.loadtest.progress import ProgressPrinter
from rtm_actors.loadtest.report import format_summary
from rtm_actors.log import configure_logging


class SupportAgent(SimulatedUser):
    """One support agent: a partner to chat with, a team channel, two watched peers."""

    # Shapes the plan: who partners whom, channels of 5, two subscriptions each.
    # (The mix is what the plan's channels need; this class's tasks decide what runs.)
    scenario = Scenario(
        "support-desk",
        "agents chat 1:1, post in team channels of 5, check who is online",
        mix=(("peer", 1.0), ("channel", 1.0)),
        channel_size=5,
        subscriptions=2,
    )
    # A random pause of 0.2-0.6 s after each task (Locust's between()).
    wait_time = between(0.2, 0.6)

    def setup(self) -> None:
        """After login, before the traffic: join the team channel, watch two peers."""
        for channel_id in self.plan.channels:
            self.join(channel_id)
        self.subscribe(self.plan.subscriptions)

    @task(5)
    def chat_with_partner(self) -> None:
        """Most of the time: a message to the partner."""
        self.send_peer(self.random.choice(self.plan.partners))

    @task(2)
    def post_to_team(self) -> None:
        """Sometimes: a message to the whole team."""
        self.send_channel(self.random.choice(self.plan.channels))

    @task(1)
    def who_is_online(self) -> None:
        """Now and then: are the watched peers online?"""
        self.query(self.plan.subscriptions)

    def on_peer_message(self, peer_id, message):
        """Count what the partner said too (super() keeps the tool's own measurements)."""
        super().on_peer_message(peer_id, message)
        self.stats.counters["partner_messages_seen"] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="a running server (default: an embedded one)")
    parser.add_argument("--html", help="write the HTML report here")
    parser.add_argument("--quiet", action="store_true", help="no live progress")
    args = parser.parse_args(argv)
    configure_logging("error")
    options = LoadOptions(
        # A file path works in worker processes too (they load the class by name).
        user_class=f"{Path(__file__).resolve()}:SupportAgent",
        users=args.users,
        duration=args.duration,
        workers=args.workers,
        seed=args.seed,
        url=args.url,
    )
    printer = None if args.quiet else ProgressPrinter(sys.stderr, workers=args.workers)
    result = run_load(options, progress=printer)
    if printer is not None:
        printer.close()
    print(format_summary(result))
    print(f"partner messages seen: {result.stats.counters['partner_messages_seen']:,}")
    if args.html:
        write_html(result, args.html)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
