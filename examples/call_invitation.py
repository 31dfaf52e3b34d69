"""Call invitations: alice calls bob; bob accepts, then refuses; alice cancels a third call.

    python examples/call_invitation.py                  # embedded server (memory store)
    python examples/call_invitation.py --url ws://127.0.0.1:8700/rtm

RTM only does the signalling: after an acceptance the two apps would join the media
channel named in the invitation. Each method of the call manager answers at once with
an ``InvitationApiCallErrCode``; what happens next arrives as ``RtmCallEventHandler``
callbacks. The server decides every race, so both sides always end the same way.
See docs/invitations.md.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import Any

import gevent.queue

import rtm_actors as ra
from rtm_actors.log import configure_logging
from rtm_actors.server import RtmServer

APP_ID = "calldemo"  # any app id works: the server is in testing mode (no certificate)
TIMEOUT = 10.0  # seconds to wait for any one event


class CallHandler(ra.RtmCallEventHandler):
    """Prints every invitation callback of one user as it happens, and queues it.

    Callbacks run on the SDK's own greenlet, one at a time: keep them short and never
    block in them. ``main`` waits on the queue to go on in order.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: gevent.queue.Queue[tuple[str, Any]] = gevent.queue.Queue()

    def _see(self, event: str, invitation: Any, detail: str = "") -> None:
        print(f"[{self.name}] {event}{': ' + detail if detail else ''}")
        self.events.put((event, invitation))

    # -- the caller's side (LocalCallInvitation) -------------------------------------

    def on_local_invitation_received_by_peer(self, local_invitation):
        self._see("on_local_invitation_received_by_peer", local_invitation)

    def on_local_invitation_accepted(self, local_invitation, response):
        self._see("on_local_invitation_accepted", local_invitation, f"response={response!r}")

    def on_local_invitation_refused(self, local_invitation, response):
        self._see("on_local_invitation_refused", local_invitation, f"response={response!r}")

    def on_local_invitation_canceled(self, local_invitation):
        self._see("on_local_invitation_canceled", local_invitation)

    def on_local_invitation_failure(self, local_invitation, error_code):
        self._see("on_local_invitation_failure", local_invitation, error_code.name)

    # -- the callee's side (RemoteCallInvitation) ------------------------------------

    def on_remote_invitation_received(self, remote_invitation):
        inv = remote_invitation
        detail = f"from {inv.caller_id}, content={inv.content!r}, channel_id={inv.channel_id!r}"
        self._see("on_remote_invitation_received", inv, detail)

    def on_remote_invitation_accepted(self, remote_invitation):
        self._see("on_remote_invitation_accepted", remote_invitation)

    def on_remote_invitation_refused(self, remote_invitation):
        self._see("on_remote_invitation_refused", remote_invitation)

    def on_remote_invitation_canceled(self, remote_invitation):
        self._see("on_remote_invitation_canceled", remote_invitation)

    def on_remote_invitation_failure(self, remote_invitation, error_code):
        self._see("on_remote_invitation_failure", remote_invitation, error_code.name)

    def wait(self, event: str) -> Any:
        """Wait for this user's next callback, which must be ``event``; answer its invitation."""
        try:
            got, invitation = self.events.get(timeout=TIMEOUT)
        except gevent.queue.Empty:
            raise SystemExit(f"{self.name}: no {event} within {TIMEOUT} s") from None
        if got != event:
            raise SystemExit(f"{self.name}: expected {event}, got {got}")
        return invitation


def log_in(url: str, name: str, stack: ExitStack) -> tuple[ra.RtmCallManager, CallHandler]:
    """Log ``name`` in and make its call manager (invitations go to its handler)."""
    rtm = ra.create_agora_service().create_rtm_service()
    if rtm.initialize(APP_ID, ra.RtmServiceEventHandler(), server_url=url) != 0:
        raise SystemExit("initialize failed")
    stack.callback(rtm.release)  # release() logs out first if still logged in
    rtm.login(None, name).get(TIMEOUT)
    handler = CallHandler(name)
    manager = rtm.get_rtm_call_manager(handler)
    assert manager is not None
    return manager, handler


def call(
    alice: ra.RtmCallManager,
    alice_sees: CallHandler,
    bob_sees: CallHandler,
    content: str,
    channel_id: str,
) -> tuple[ra.LocalCallInvitation, ra.RemoteCallInvitation]:
    """alice invites bob; answer once bob has it and alice knows he has it."""
    invitation = alice.create_local_call_invitation("bob")
    invitation.content = content
    invitation.channel_id = channel_id
    code = alice.send_local_invitation(invitation)  # OK: on its way; events follow
    print(f"alice: send_local_invitation ... {code.name}")
    remote = bob_sees.wait("on_remote_invitation_received")
    alice_sees.wait("on_local_invitation_received_by_peer")  # bob's SDK has it
    return invitation, remote


def states(local: ra.LocalCallInvitation, remote: ra.RemoteCallInvitation) -> None:
    """Print both sides' final states (Agora's names and numbers)."""
    print(
        f"states: alice {local.state.name} ({local.state.value}), "
        f"bob {remote.state.name} ({remote.state.value})"
    )


def demo(url: str) -> None:
    """The three calls, against the server at ``url``."""
    with ExitStack() as stack:
        alice, alice_sees = log_in(url, "alice", stack)
        bob, bob_sees = log_in(url, "bob", stack)
        print("alice and bob logged in")

        # 1. bob accepts. alice learns first; bob's acceptance is confirmed once
        # alice's SDK has it (Agora's three-way handshake).
        print("-- call 1: bob accepts")
        local, remote = call(alice, alice_sees, bob_sees, "video call?", "call-1")
        remote.response = "joining call-1"  # set the response before answering
        print(f"bob: accept_remote_invitation ... {bob.accept_remote_invitation(remote).name}")
        alice_sees.wait("on_local_invitation_accepted")
        bob_sees.wait("on_remote_invitation_accepted")
        states(local, remote)
        # Too late to cancel: the invitation is over.
        print(f"alice: cancel_local_invitation ... {alice.cancel_local_invitation(local).name}")

        # 2. bob refuses: alice gets his response.
        print("-- call 2: bob refuses")
        local, remote = call(alice, alice_sees, bob_sees, "another call?", "call-2")
        remote.response = "busy now"
        print(f"bob: refuse_remote_invitation ... {bob.refuse_remote_invitation(remote).name}")
        alice_sees.wait("on_local_invitation_refused")
        bob_sees.wait("on_remote_invitation_refused")
        states(local, remote)

        # 3. alice changes her mind: bob is told, and so is alice.
        print("-- call 3: alice cancels")
        local, remote = call(alice, alice_sees, bob_sees, "one more?", "call-3")
        print(f"alice: cancel_local_invitation ... {alice.cancel_local_invitation(local).name}")
        bob_sees.wait("on_remote_invitation_canceled")
        alice_sees.wait("on_local_invitation_canceled")
        states(local, remote)
        # Answering an invitation that is over is refused at once.
        print(f"bob: accept_remote_invitation ... {bob.accept_remote_invitation(remote).name}")


def main(argv: list[str] | None = None) -> int:
    """Run the demo; answer the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", help="use this server (ws://host:port/rtm) instead of embedding one"
    )
    args = parser.parse_args(argv)
    configure_logging("warning")  # the server logs at info by default; keep the output clean
    if args.url:
        demo(args.url)
        return 0
    # An embedded server on a free port; nothing needs to be kept across restarts.
    with RtmServer(port=0, store="memory") as server:
        print(f"server listening on {server.url}")
        demo(server.url)
    print("server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
