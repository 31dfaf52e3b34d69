"""The fault benchmark in small: Redis killed and restarted, a node killed and
restarted, under peer and channel traffic; nothing acknowledged is lost, nothing
arrives twice, and every message gets an answer (benchmarks/faults.py runs it large)."""

from __future__ import annotations

import pytest

from rtm_actors.bench.faults import run_faults

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.timeout(120)]


def test_faults_lose_nothing_acknowledged(tmp_path):
    """Redis down 3 s (kill -9, append-only file) and node B killed and restarted: for
    peer messages (with and without offline messaging) and channel messages, every
    message was answered, and none answered OK was lost or delivered twice."""
    rows = run_faults(
        tmp_path, pairs=3, rate=5.0, redis_down=3.0, before=1.0, after=2.0, slow_consumer=False
    )
    assert len(rows) == 6
    for row in rows:
        assert row.sent > 0, row
        assert row.unanswered == 0, row
        assert row.lost == 0, row
        assert row.duplicates == 0, row
        assert row.acked > 0, row
