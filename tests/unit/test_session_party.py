"""``SessionParty``: what the desk tells a session as a party waits for the end of the
session's own turn, and only when nothing waits in its inbox (order is kept)."""

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


def test_told_during_the_turn_it_waits_for_the_turns_end() -> None:
    """In a turn with an empty inbox the message is kept, in order, not told."""
    session, waiting = Session(), [0]
    party = SessionParty(session, lambda: waiting[0])
    party.turn = True
    party.tell(Uninvolve(("app", "alice", 1)))
    party.tell(Uninvolve(("app", "alice", 2)))
    assert list(party.later) == [Uninvolve(("app", "alice", 1)), Uninvolve(("app", "alice", 2))]
    assert session.told == []


def test_with_mail_waiting_or_outside_a_turn_it_is_told() -> None:
    """Mail waiting in the inbox goes first: a message told then queues behind it; and
    outside a turn the session is simply told."""
    session, waiting = Session(), [1]
    party = SessionParty(session, lambda: waiting[0])
    party.turn = True
    party.tell(Uninvolve(("app", "alice", 1)))
    party.turn, waiting[0] = False, 0
    party.tell(Uninvolve(("app", "alice", 2)))
    assert session.told == [Uninvolve(("app", "alice", 1)), Uninvolve(("app", "alice", 2))]
    assert not party.later


def test_a_stopped_session_is_reported_to_the_teller() -> None:
    """Told to a session that has stopped, the party raises as its ref would."""
    party = SessionParty(Session(alive=False), lambda: 0)
    with pytest.raises(pykka.ActorDeadError):
        party.tell(Uninvolve(("app", "alice", 1)))
