"""The benchmark's exactly-once accounting (``rtm_actors.bench.ledger``)."""

from __future__ import annotations

from rtm_actors.bench.ledger import BitLedger, percentile
from rtm_actors.bench.results import Report, table


def test_every_message_delivered_once_is_clean():
    """Peer messages each delivered once, to their receiver: nothing lost or doubled."""
    ledger = BitLedger()
    numbers = [ledger.send(1, target=i % 3) for i in range(10)]
    for n in numbers:
        assert ledger.deliver(n % 3, n) == 0
    tally = ledger.tally()
    assert (tally.sent, tally.expected, tally.delivered) == (10, 10, 10)
    assert tally.clean


def test_a_message_never_delivered_is_lost():
    """A missing delivery shows as a loss."""
    ledger = BitLedger()
    first, second = ledger.send(1, 0), ledger.send(1, 0)
    ledger.deliver(0, first)
    tally = ledger.tally()
    assert tally.lost == 1
    assert not tally.clean
    assert second == 1


def test_a_second_delivery_is_a_duplicate():
    """The same message twice at the same receiver counts once, plus a duplicate."""
    ledger = BitLedger()
    n = ledger.send(1, 4)
    assert ledger.deliver(4, n) == 0
    assert ledger.deliver(4, n) == -1
    tally = ledger.tally()
    assert (tally.delivered, tally.duplicates, tally.lost) == (1, 1, 0)
    assert not tally.clean


def test_a_delivery_to_the_wrong_user_is_misrouted():
    """A peer message arriving at someone else is not a delivery."""
    ledger = BitLedger()
    n = ledger.send(1, 2)
    assert ledger.deliver(3, n) == -1
    assert ledger.deliver(0, 99) == -1  # never sent
    tally = ledger.tally()
    assert (tally.misrouted, tally.lost) == (2, 1)


def test_a_channel_message_owes_one_delivery_per_member():
    """A fanned-out message is complete when every member has it, each once."""
    ledger = BitLedger()
    n = ledger.send(3)
    assert [ledger.deliver(m, n) for m in (1, 2, 3)] == [2, 1, 0]
    assert ledger.deliver(2, n) == -1
    tally = ledger.tally()
    assert (tally.expected, tally.delivered, tally.duplicates) == (3, 3, 1)


def test_percentile_is_nearest_rank():
    """p50 and p99 of 1..100 are 50 and 99; nothing measured reads as 0."""
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0


def test_report_rows_ratios_and_targets():
    """Rows put the systems side by side, with ratios, and the targets are judged."""
    report = Report()
    report.add("login-2000", "ours", {"logins/s": 5000.0})
    report.add("login-2000", "ceiling", {"logins/s": 6000.0})
    report.add("login-2000", "socketio", {"logins/s": 2000.0})
    (row,) = report.to_json()["results"]
    assert row["ratio_to_socketio"] == 2.5
    assert abs(row["ratio_to_ceiling"] - 5 / 6) < 1e-9
    (verdict,) = report.verdicts()
    assert verdict["met"] is True
    assert "| login-2000 | logins/s | 5,000 | 6,000 | 2,000 |" in table(report)
