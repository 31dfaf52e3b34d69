"""``LinkHeartbeat`` on fake time: when it pings, and that it never spins in one slot."""

from __future__ import annotations

import pytest

from rtm_actors.client.heartbeat import LinkHeartbeat
from rtm_actors.client.link import PING
from rtm_actors.protocol.connection import Timings
from rtm_actors.testing import FakeClock

TIMINGS = Timings(heartbeat_interval=0.5, heartbeat_timeout=0.7)


class QuietLink:
    """What the heartbeat reads of a link, and the pings it writes."""

    def __init__(self) -> None:
        self.closed = False
        self.last_rx = self.last_tx = 0.0
        self.sent: list[tuple[float, bytes]] = []
        self.clock: FakeClock | None = None

    def send(self, payload: bytes) -> bool:
        assert self.clock is not None
        self.sent.append((self.clock.now(), payload))
        self.last_tx = self.clock.now()
        return True


@pytest.fixture
def quiet_link(fake_clock: FakeClock) -> QuietLink:
    link = QuietLink()
    link.clock = fake_clock
    return link


def test_a_quiet_link_is_pinged_each_interval_and_reported_once_silent(
    fake_clock: FakeClock, quiet_link: QuietLink
) -> None:
    """Started as the login is accepted: a ping when the quiet reaches the interval
    (the wheel's slot rounding, a hair early, must not make it look again and again
    without the clock moving: this ``advance`` would never return), then, with no
    answer, the report of a silent link."""
    silent: list[float] = []
    beat = LinkHeartbeat(quiet_link, TIMINGS, lambda: silent.append(fake_clock.now()))  # type: ignore[arg-type]
    beat.start(TIMINGS.heartbeat_interval)
    fake_clock.advance(0.65)
    assert [payload for _, payload in quiet_link.sent] == [PING]
    assert 0.5 <= quiet_link.sent[0][0] <= 0.6
    assert silent == []
    fake_clock.advance(1.0)
    assert len(silent) == 1
    assert silent[0] > TIMINGS.heartbeat_timeout
    assert fake_clock.pending == 0  # (no look after the report: the supervisor decides)


def test_frames_both_ways_put_the_ping_off(fake_clock: FakeClock, quiet_link: QuietLink) -> None:
    """Traffic in and out within the interval: no ping until the quiet is an interval."""
    beat = LinkHeartbeat(quiet_link, TIMINGS, lambda: None)  # type: ignore[arg-type]
    beat.start(TIMINGS.heartbeat_interval)
    fake_clock.advance(0.3)
    quiet_link.last_rx = quiet_link.last_tx = 0.3
    fake_clock.advance(0.4)  # the look at 0.5 finds 0.2 s of quiet
    assert quiet_link.sent == []
    fake_clock.advance(0.2)
    assert len(quiet_link.sent) == 1
    assert 0.8 <= quiet_link.sent[0][0] <= 0.9
    beat.stop()
    fake_clock.advance(2.0)
    assert len(quiet_link.sent) == 1  # (stopped: no more looks)
