"""The client's check that it has every numbered push, in order, before it acknowledges.

The server numbers a session's reliable pushes 1, 2, 3, ... and never skips a number;
on a resumed link it first sends again every push it still holds, oldest first. An
acknowledgement is cumulative (``Ack(seq)`` releases every push up to ``seq``, and a
peer message's sender then gets its OK receipt). So a client that acknowledged past a
push it never had would make the server tell that push's sender "delivered" for a
message that was lost. Frames on one TCP connection cannot go missing by themselves,
but a broken middlebox (a proxy, a load balancer) or a server bug can drop one: the
next push then skips a number. The client must not handle or acknowledge it; it drops
the link and resumes, and the server sends the missing pushes again.

A middlebox that drops the same frame every time (one with a frame size limit, say)
makes every link fail at the same number. The client still never acknowledges past
it: the sender's receipt must not say "delivered" for a message that was not. It goes
on resuming, and ``PushOrder.same_gap`` counts the links that failed at the same
number: the operator hears of it, and the connection machine waits longer before each
such resume (``ConnectionMachine.link_stuck``: the reconnect backoff, one step per
link, up to ``backoff_max``), so one client does not log in again twice a second for
ever. The count, and so the wait, is back to normal once a link gets past that push.
"""

from __future__ import annotations

from enum import Enum


class PushCheck(Enum):
    """What to do with a numbered push."""

    #: The next push: handle it and acknowledge it.
    NEXT = "next"
    #: Had already (sent again after a resume): acknowledge it again, nothing more.
    REPEAT = "repeat"
    #: Numbers were skipped on this link: drop the link, resume, take nothing more of it.
    GAP = "gap"


class PushOrder:
    """The last push number had in this server session, and the gaps met since."""

    __slots__ = ("_gap_at", "last", "same_gap")

    def __init__(self) -> None:
        #: The highest push number handled in this server session.
        self.last = 0
        #: How many links running skipped at the same number (0 after any progress).
        self.same_gap = 0
        self._gap_at = 0

    def check(self, seq: int) -> PushCheck:
        """Judge push ``seq``, the next numbered push on the current link."""
        expected = self.last + 1
        if seq < expected:
            return PushCheck.REPEAT
        if seq == expected:
            self.last = seq
            self.same_gap = 0
            return PushCheck.NEXT
        self.same_gap = self.same_gap + 1 if self._gap_at == expected else 1
        self._gap_at = expected
        return PushCheck.GAP

    def reset(self) -> None:
        """A fresh server session: its pushes are numbered from 1 again."""
        self.last = self.same_gap = self._gap_at = 0
