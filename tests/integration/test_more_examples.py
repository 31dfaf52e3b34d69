"""examples/presence.py and examples/channel_chat.py run end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_presence_example_runs(capsys):
    """The example exits 0 and prints the ONLINE/OFFLINE changes and bob's attributes."""
    assert load("presence").main([]) == 0
    out = capsys.readouterr().out
    assert "alice sees bob: ONLINE" in out
    assert "{'status': 'free', 'city': 'Lyon'}" in out
    assert "after logout bob's attributes are gone: USER_NOT_FOUND" in out


def test_channel_chat_example_runs(capsys):
    """The example exits 0; members see messages, joins, leaves, attributes and counts."""
    assert load("channel_chat").main([]) == 0
    out = capsys.readouterr().out
    assert "[bob] alice: hello, lobby" in out
    assert "[alice] carol left" in out
    assert "[bob] attributes: topic=gevent" in out
    assert "member counts: {'lobby': 2, 'empty': 0}" in out
