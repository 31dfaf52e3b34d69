"""Group chat in a channel: join, talk, see who comes and goes, share channel attributes.

    python examples/channel_chat.py                  # embedded server (memory store)
    python examples/channel_chat.py --url ws://127.0.0.1:8700/rtm

alice, bob and carol join "lobby". Everyone but the sender gets each message. carol
leaves and the others are told. alice sets the channel's topic with notification on,
so the members get the full attribute set.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

import gevent.queue

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.server import RtmServer

APP_ID = "channeldemo"
TIMEOUT = 10.0


class Member(ra.ChannelEventHandler):
    """Prints what one member sees in the channel and queues it for ``main``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: gevent.queue.Queue[str] = gevent.queue.Queue()

    def _see(self, text: str) -> None:
        print(f"[{self.name}] {text}")
        self.events.put(text)

    def on_message_received(self, user_id, message):
        self._see(f"{user_id}: {message.text}")

    def on_member_joined(self, member):
        self._see(f"{member.user_id} joined")

    def on_member_left(self, member):
        self._see(f"{member.user_id} left")

    def on_attributes_updated(self, attributes):
        self._see("attributes: " + ", ".join(f"{a.key}={a.value}" for a in attributes))

    def wait(self, prefix: str) -> str:
        """Wait for the next event that starts with ``prefix``."""
        while True:
            event = self.events.get(timeout=TIMEOUT)
            if event.startswith(prefix):
                return event


def enter(url: str, name: str, stack: ExitStack) -> tuple[ra.RtmService, ra.Channel, Member]:
    """Log ``name`` in and join the lobby."""
    rtm = ra.create_agora_service().create_rtm_service()
    if rtm.initialize(APP_ID, ra.RtmServiceEventHandler(), server_url=url) != 0:
        raise SystemExit("initialize failed")
    stack.callback(rtm.release)
    rtm.login(None, name).get(TIMEOUT)
    member = Member(name)
    lobby = rtm.create_channel("lobby", member)
    assert lobby is not None
    lobby.join().get(TIMEOUT)
    return rtm, lobby, member


def main(argv: list[str] | None = None) -> int:
    """Run the demo; answer the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use a running server instead of an embedded one")
    args = parser.parse_args(argv)
    configure_logging("warning")
    with ExitStack() as stack:
        url = args.url or stack.enter_context(RtmServer(port=0, store="memory")).url
        alice, alice_lobby, alice_sees = enter(url, "alice", stack)
        bob, bob_lobby, bob_sees = enter(url, "bob", stack)
        alice_sees.wait("bob joined")
        _, carol_lobby, carol_sees = enter(url, "carol", stack)
        bob_sees.wait("carol joined")

        alice_lobby.send_message(alice.create_message("hello, lobby")).get(TIMEOUT)
        bob_sees.wait("alice:")
        carol_sees.wait("alice:")
        members = sorted(m.user_id for m in bob_lobby.get_members().get(TIMEOUT))
        print("members:", members)

        carol_lobby.leave().get(TIMEOUT)
        alice_sees.wait("carol left")
        options = ra.ChannelAttributeOptions(enable_notification_to_channel_members=True)
        alice.set_channel_attributes("lobby", {"topic": "gevent"}, options).get(TIMEOUT)
        bob_sees.wait("attributes:")
        counts = bob.get_channel_member_count(["lobby", "empty"]).get(TIMEOUT)
        print("member counts:", counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
