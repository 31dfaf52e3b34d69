"""benchmarks/soak.py runs end to end: rounds against a real server, figures per round."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gevent.subprocess
import pytest

pytestmark = pytest.mark.integration
SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def test_soak_reports_every_round_with_its_memory_and_the_idle_server(tmp_path):
    """Two tiny rounds: a table on stdout, and JSON with each round's figures."""
    out = tmp_path / "soak.json"
    args = ["--rounds", "2", "--users", "20", "--duration", "2", "--settle", "1"]
    # gevent's, so the hub's clock goes on while it runs (later tests time with it).
    done = gevent.subprocess.run(
        [sys.executable, str(SOAK), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "idle floor spread:" in done.stdout
    result = json.loads(out.read_text())
    assert [r["round"] for r in result["rounds"]] == [1, 2]
    for r in result["rounds"]:
        assert r["idle_rss_mib"] > 10
        assert r["peak_rss_mib"] >= r["idle_rss_mib"]
        assert r["delivered"] > 0
        assert r["errors"] == 0
        assert r["gauges"]["rtm_users_online"] == 0
        assert r["gauges"]["rtm_invitations_in_flight"] == 0
    assert result["start_rss_mib"] > 10
    assert result["idle_floor_spread_mib"] >= 0
