"""The cross-process delivery tally: payloads of sequence ranges, merged losses."""

from __future__ import annotations

import json

from rtm_actors.loadtest.stats import PEER_STREAM, stream_key
from rtm_actors.loadtest.tally import Ledger, Tally


def _sender(count: int, stream: str) -> Ledger:
    ledger = Ledger()
    for _ in range(count):
        seq = ledger.next_seq(stream)
        ledger.stats.record_sent(0.0)
        ledger.stats.record_acked(stream, seq, 0.0)
    return ledger


def test_losses_are_found_after_merging_sender_and_receiver():
    """A sender in one process and its receiver in another: the master counts each
    acknowledged message that never arrived."""
    stream = stream_key(PEER_STREAM, "a", "b")
    sender = _sender(100, stream)
    receiver = Ledger()
    for seq in range(1, 101):
        if seq % 10:
            receiver.stats.record_delivered(stream, seq, 0.0, 0.001)
    master = Ledger()
    for ledger in (sender, receiver):
        master.absorb(json.loads(json.dumps(ledger.payload())))
    tally = master.tally()
    assert (tally.acked, tally.expected, tally.lost, tally.processes) == (100, 100, 10, 2)
    assert tally.loss_ratio == 0.1


def test_payload_holds_ranges_not_ids():
    """A thousand messages in order travel as one range per stream."""
    stream = stream_key(PEER_STREAM, "a", "b")
    assert _sender(1000, stream).payload()["acked_seqs"] == {stream: [[1, 1000]]}


def test_duplicates_and_order_are_summed_over_processes():
    """Each receiver counts its own duplicates and late messages; the master adds them."""
    stream = stream_key(PEER_STREAM, "a", "b")
    receiver = Ledger()
    for seq in (1, 3, 2, 3):
        receiver.stats.record_delivered(stream, seq, 0.0, 0.001)
    master = Ledger()
    master.absorb(receiver.payload())
    tally = master.tally()
    assert (tally.duplicates, tally.out_of_order) == (1, 1)


def test_sequence_numbers_go_on_across_users_of_one_id():
    """A user that replaces a stopped one under the same id goes on counting."""
    ledger = Ledger()
    assert [ledger.next_seq("p/a/b") for _ in range(3)] == [1, 2, 3]


def test_thresholds_name_what_failed():
    """Past --rtm-max-loss or --rtm-max-duplicates the tally says why."""
    tally = Tally(10, 10, 9, 10, 1, 2, 0, 2)
    assert tally.failures(max_loss=0.1, max_duplicates=2) == []
    assert len(tally.failures(max_loss=0.0, max_duplicates=0)) == 2
