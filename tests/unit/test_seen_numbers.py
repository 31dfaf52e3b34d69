"""A member's record of the channel message numbers it had: each message once."""

from __future__ import annotations

from rtm_actors.client.channel_requests import ChannelState
from rtm_actors.protocol.channel import SeenNumbers


def test_a_missed_message_replayed_after_newer_ones_is_delivered_once():
    """Live 5..8 arrive before the replay of 2..4 that a resumed link asked for: the
    replay is delivered, a second copy of anything is not, and the cursor stays at 8."""
    state = ChannelState("room", handler=None, actor=None)
    assert state.first_delivery("e", 1)
    delivered = [n for n in [5, 6, 7, 8, 2, 3, 4, 3, 8, 1] if state.first_delivery("e", n)]
    assert delivered == [5, 6, 7, 8, 2, 3, 4]
    assert state.cseq == 8


def test_another_epoch_starts_over():
    """A recreated channel (another epoch) numbers from 1 again."""
    state = ChannelState("room", handler=None, actor=None)
    assert state.first_delivery("a", 7)
    assert state.first_delivery("b", 1)
    assert (state.epoch, state.cseq) == ("b", 1)


def test_numbers_past_the_bound_count_as_had():
    """Only the newest ``size`` numbers are kept; older ones are taken as had."""
    seen = SeenNumbers(size=3)
    assert [seen.first(n) for n in (10, 11, 12, 13)] == [True, True, True, True]
    assert seen.floor == 10
    assert not seen.first(9)
    assert not seen.first(10)
    assert not seen.first(13)
