"""Two users, alice and bob, message each other through an RTM server.

    python examples/peer_chat.py                    # embedded server, SQLite in a temp dir
    python examples/peer_chat.py --messages 5
    python examples/peer_chat.py --url ws://127.0.0.1:8700/rtm   # an `rtm-actors serve`

Both log in and exchange a few messages. Then bob logs out, alice sends him a message
with offline messaging on (the server caches it), and bob receives it, flagged offline,
when he logs back in. No monkey patching is needed: the SDK and the server use gevent
directly. Wait with ``future.get(timeout)`` or ``gevent.sleep``, never ``time.sleep``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import gevent.queue

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.server import RtmServer

APP_ID = "peerchatdemo"  # any app id works: the server is in testing mode (no certificate)
TIMEOUT = 10.0  # seconds to wait for any one result


class ChatHandler(ra.RtmServiceEventHandler):
    """Prints what its user receives and queues it so ``main`` can wait for it.

    Callbacks run on the SDK's own greenlet, one at a time: keep them short and
    never block in them.
    """

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.inbox: gevent.queue.Queue[ra.Message] = gevent.queue.Queue()

    def on_message_received_from_peer(self, peer_id: str, message: ra.Message) -> None:
        offline = " [offline]" if message.is_offline_message else ""
        print(f"{self.user_id} <- {peer_id}: {message.text}{offline}")
        self.inbox.put(message)


def make_user(user_id: str, url: str) -> tuple[ra.RtmService, ChatHandler]:
    """An initialised (not yet logged-in) client for ``user_id``."""
    handler = ChatHandler(user_id)
    rtm = ra.create_agora_service().create_rtm_service()
    code = rtm.initialize(APP_ID, handler, server_url=url)
    if code != 0:
        raise SystemExit(f"initialize failed: {code!r}")
    return rtm, handler


def send(sender: ra.RtmService, name: str, peer_id: str, text: str, **options: bool) -> None:
    """Send one message and print the result: OK, or CACHED_BY_SERVER for an offline peer.

    A failure raises ``RtmError`` with Agora's code in ``.code`` (PEER_UNREACHABLE, ...).
    """
    message = sender.create_message(text)
    future = sender.send_message_to_peer(peer_id, message, ra.SendMessageOptions(**options))
    code = future.get(timeout=TIMEOUT)
    print(f"{name} -> {peer_id}: {text!r} ... {code.name}")


def chat(url: str, messages: int) -> None:
    """The conversation itself, against the server at ``url``."""
    alice, alice_handler = make_user("alice", url)
    bob, bob_handler = make_user("bob", url)
    try:
        # login() returns an RtmFuture; .get() waits (raising RtmError on failure).
        alice.login(None, "alice").get(timeout=TIMEOUT)
        bob.login(None, "bob").get(timeout=TIMEOUT)
        print("alice and bob logged in")

        # OK means bob's SDK has the message (a delivery receipt), so bob's callback
        # usually prints before alice learns the result.
        for i in range(1, messages + 1):
            send(alice, "alice", "bob", f"hi bob #{i}")
            bob_handler.inbox.get(timeout=TIMEOUT)  # wait until bob's callback has run
            send(bob, "bob", "alice", f"hi alice #{i}")
            alice_handler.inbox.get(timeout=TIMEOUT)

        # Offline messaging: the server keeps the message until bob logs in again.
        bob.logout().get(timeout=TIMEOUT)
        print("bob logged out")
        send(alice, "alice", "bob", "see you later", enable_offline_messaging=True)
        print("bob logs in again")
        bob.login(None, "bob").get(timeout=TIMEOUT)
        bob_handler.inbox.get(timeout=TIMEOUT)  # the cached message arrives after login

        alice.logout().get(timeout=TIMEOUT)
        bob.logout().get(timeout=TIMEOUT)
        print("alice and bob logged out")
    finally:
        # release() stops the client's actors (and logs out first if still logged in).
        alice.release()
        bob.release()


def main(argv: list[str] | None = None) -> int:
    """Run the chat; answer the process exit code."""
    parser = argparse.ArgumentParser(description="Two users chat through an RTM server.")
    parser.add_argument(
        "--url", help="use this server (ws://host:port/rtm) instead of embedding one"
    )
    parser.add_argument("--messages", type=int, default=3, help="messages each way (default 3)")
    args = parser.parse_args(argv)
    configure_logging("warning")  # the server logs at info by default; keep the output clean

    if args.url:
        chat(args.url, args.messages)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        # An embedded server on a free port; offline messages go to a SQLite file.
        store = f"sqlite:///{Path(tmp) / 'rtm.db'}"
        with RtmServer(host="127.0.0.1", port=0, store=store) as server:
            print(f"server listening on {server.url}")
            chat(server.url, args.messages)
        print("server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
