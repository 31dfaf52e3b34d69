"""``SessionParty``: what the desk tells a session as a party while the session hands
it an input waits for the end of the session's turn, and only when nothing waits in
its inbox (order is kept)."""

from __future__ import annotations

import pykka
import pytest

from rtm_actors.server.invitation_actor import Uninvolve
from rtm_actors.server.session_port import SessionParty


class Session:
    """Stands in for the session's ref: records what is told to it."""

    def __init__(self, alive: bool = True) -> None:
        self.told: list[object] = []
        self.alive = alive

    def tell(self, message: object) -> None:
        if not self.alive:
            raise pykka.ActorDeadError("stopped")
        self.told.append(message)


def test_told_while_handing_an_input_it_waits_for_the_turns_end() -> None:
    """While the session hands the desk an input, with an empty inbox, the message is
    kept, in order, not told."""
    session, waiting = Session(), [0]
    party = SessionParty(session, lambda: waiting[0])
    party.handing = True
    party.tell(Uninvolve(("app", "alice", 1)))
    party.tell(Uninvolve(("app", "alice", 2)))
    assert list(party.later) == [Uninvolve(("app", "alice", 1)), Uninvolve(("app", "alice", 2))]
    assert session.told == []


def test_with_mail_waiting_or_at_any_other_time_it_is_told() -> None:
    """Mail waiting in the inbox goes first: a message told then queues behind it; and
    when the session is not handing an input, it is simply told."""
    session, waiting = Session(), [1]
    party = SessionParty(session, lambda: waiting[0])
    party.handing = True
    party.tell(Uninvolve(("app", "alice", 1)))
    party.handing, waiting[0] = False, 0
    party.tell(Uninvolve(("app", "alice", 2)))
    assert session.told == [Uninvolve(("app", "alice", 1)), Uninvolve(("app", "alice", 2))]
    assert not party.later


def test_a_stopped_session_is_reported_to_the_teller() -> None:
    """Told to a session that has stopped, the party raises as its ref would."""
    party = SessionParty(Session(alive=False), lambda: 0)
    with pytest.raises(pykka.ActorDeadError):
        party.tell(Uninvolve(("app", "alice", 1)))


def test_handing_an_input_marks_it_only_for_the_tell() -> None:
    """``hand`` tells the invitation and answers whether it took the input; what the
    invitation tells the party back meanwhile is kept, and afterwards it is told."""
    session = Session()
    party = SessionParty(session, lambda: 0)

    class Desk:
        def tell(self, message: object) -> None:
            party.tell(Uninvolve(("app", "alice", 1)))

    assert party.hand(Desk(), "an input")
    assert list(party.later) == [Uninvolve(("app", "alice", 1))]
    party.tell(Uninvolve(("app", "alice", 2)))
    assert session.told == [Uninvolve(("app", "alice", 2))]
