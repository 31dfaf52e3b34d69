"""What a load client reports to the workload driving it.

Every system's load client calls the same five methods, so one workload drives our
server, the ceiling relay and python-socketio alike. ``n`` is the message (or
invitation) number the ``Ledger`` gave out; ``sent_ns`` is when it was meant to go
(``time.perf_counter_ns`` in the load process, which holds every client).
"""

from __future__ import annotations

from typing import Any, Protocol


class LoadHandler(Protocol):
    """The workload side of every load client."""

    def peer_received(self, me: int, n: int, sent_ns: int) -> None:
        """Client ``me`` got peer message ``n``."""

    def receipt(self, client: Any, n: int, ok: bool) -> None:
        """The sender of peer message ``n`` learned it was delivered (``ok``) or not."""

    def channel_received(self, me: int, n: int, sent_ns: int) -> None:
        """Client ``me`` got channel message ``n``."""

    def invitation_accepted(self, client: Any, n: int) -> None:
        """The caller of invitation ``n`` learned that the callee accepted it."""

    def failed(self, client: Any, what: str) -> None:
        """A request was refused, or the connection broke."""


class Driver:
    """A workload's ``LoadHandler``: no-op callbacks to override, phase flags, errors.

    ``sending`` lets the loops send; ``measuring`` marks the measured window;
    ``settled`` says when everything sent has arrived (the drain waits for it).
    """

    def __init__(self) -> None:
        self.sending = False
        self.measuring = False
        #: Deliveries (or round trips) inside the measured window.
        self.counted = 0
        self.errors: list[str] = []

    def peer_received(self, me: int, n: int, sent_ns: int) -> None:
        """Not used by this workload."""

    def receipt(self, client: Any, n: int, ok: bool) -> None:
        """Not used by this workload."""

    def channel_received(self, me: int, n: int, sent_ns: int) -> None:
        """Not used by this workload."""

    def invitation_accepted(self, client: Any, n: int) -> None:
        """Not used by this workload."""

    def failed(self, client: Any, what: str) -> None:
        """Keep the first few errors for the report."""
        if len(self.errors) < 20:
            self.errors.append(f"{client.user_id}: {what}")

    def settled(self) -> bool:
        """Everything sent has arrived (nothing to wait for by default)."""
        return True


def stamp(sent_ns: int, pad: int) -> str:
    """A message text: the send time, then padding to ``pad`` characters."""
    head = str(sent_ns)
    return head + " " + "x" * max(0, pad - len(head) - 1)


def sent_ns_of(text: str) -> int:
    """The send time a ``stamp`` text carries."""
    return int(text.split(" ", 1)[0])
