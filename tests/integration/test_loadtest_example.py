"""The custom load scenario example runs its own SimulatedUser class end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_load_scenario.py"


def test_custom_scenario_example_runs_its_tasks_without_losses(capsys):
    """The example's SupportAgent logs in, runs all three tasks and loses nothing."""
    spec = importlib.util.spec_from_file_location("custom_load_scenario", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--users", "10", "--duration", "1.5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "rtm-actors loadtest:" in out
    assert "10 users (10 logged in)" in out
    assert "result       OK" in out
    for op in ("join", "subscribe", "query"):
        assert f"\n  {op} " in out
    assert "    channel " in out
    assert "    peer " in out
    seen = int(out.rsplit("partner messages seen: ", 1)[1].split()[0].replace(",", ""))
    assert seen > 0
