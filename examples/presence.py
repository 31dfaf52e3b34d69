"""Presence and user attributes: watch who is online, and read what users say about themselves.

    python examples/presence.py                  # embedded server (memory store)
    python examples/presence.py --url ws://127.0.0.1:8700/rtm

alice subscribes to bob's online status, so she hears when he logs in and out. bob
publishes attributes about himself (only he can write them); alice reads them. A query
answers for users alice does not watch.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

import gevent.queue

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.server import RtmServer

APP_ID = "presencedemo"
TIMEOUT = 10.0


class Watcher(ra.RtmServiceEventHandler):
    """Prints presence changes and queues them so ``main`` can wait for them."""

    def __init__(self) -> None:
        self.changes: gevent.queue.Queue[dict[str, ra.PeerOnlineState]] = gevent.queue.Queue()

    def on_peers_online_status_changed(self, peers_status):
        for peer, state in peers_status.items():
            print(f"alice sees {peer}: {state.name}")
        self.changes.put(dict(peers_status))


def client(url: str, handler: ra.RtmServiceEventHandler) -> ra.RtmService:
    """An initialised client."""
    rtm = ra.create_agora_service().create_rtm_service()
    if rtm.initialize(APP_ID, handler, server_url=url) != 0:
        raise SystemExit("initialize failed")
    return rtm


def main(argv: list[str] | None = None) -> int:
    """Run the demo; answer the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use a running server instead of an embedded one")
    args = parser.parse_args(argv)
    configure_logging("warning")
    with ExitStack() as stack:
        url = args.url or stack.enter_context(RtmServer(port=0, store="memory")).url
        watcher = Watcher()
        alice = client(url, watcher)
        bob = client(url, ra.RtmServiceEventHandler())
        stack.callback(alice.release)
        stack.callback(bob.release)

        alice.login(None, "alice").get(TIMEOUT)
        alice.subscribe_peers_online_status(["bob"]).get(TIMEOUT)
        watcher.changes.get(timeout=TIMEOUT)  # the current state comes first: OFFLINE

        bob.login(None, "bob").get(TIMEOUT)
        watcher.changes.get(timeout=TIMEOUT)  # ONLINE
        bob.set_local_user_attributes({"status": "busy", "city": "Lyon"}).get(TIMEOUT)
        bob.add_or_update_local_user_attributes({"status": "free"}).get(TIMEOUT)
        print("bob's attributes, read by alice:", alice.get_user_attributes("bob").get(TIMEOUT))
        print("just his status:", alice.get_user_attributes_by_keys("bob", ["status"]).get(TIMEOUT))

        states = alice.query_peers_online_status(["bob", "carol"]).get(TIMEOUT)
        print("query:", {peer: state.name for peer, state in states.items()})
        print("alice watches:", alice.query_peers_by_subscription_option().get(TIMEOUT))

        bob.logout().get(TIMEOUT)
        watcher.changes.get(timeout=TIMEOUT)  # OFFLINE
        try:
            alice.get_user_attributes("bob").get(TIMEOUT)
        except ra.RtmError as exc:
            print("after logout bob's attributes are gone:", exc.code.name)
        alice.logout().get(TIMEOUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
