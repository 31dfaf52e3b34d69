"""examples/presence.py runs end to end and shows presence changes and attributes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "presence.py"


def test_presence_example_runs(capsys):
    """The example exits 0 and prints the ONLINE/OFFLINE changes and bob's attributes."""
    spec = importlib.util.spec_from_file_location("presence_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([]) == 0
    out = capsys.readouterr().out
    assert "alice sees bob: ONLINE" in out
    assert "{'status': 'free', 'city': 'Lyon'}" in out
    assert "after logout bob's attributes are gone: USER_NOT_FOUND" in out
