"""Smoke tests of the examples: each runs in-process, and peer_chat in a patched process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peer_chat_exchanges_messages_and_delivers_offline(capsys):
    """peer_chat exits 0 after both users received each other's messages and bob the offline one."""
    assert load_example("peer_chat").main(["--messages", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    for i in (1, 2):
        assert f"bob <- alice: hi bob #{i}" in out
        assert f"alice <- bob: hi alice #{i}" in out
        assert f"alice -> bob: 'hi bob #{i}' ... OK" in out
    assert "alice -> bob: 'see you later' ... CACHED_BY_SERVER" in out
    assert "bob <- alice: see you later [offline]" in out
    assert out[-1] == "server stopped"


def test_peer_chat_against_an_existing_server(server, capsys):
    """With --url, peer_chat uses that server instead of embedding one."""
    assert load_example("peer_chat").main(["--url", server.url, "--messages", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "bob <- alice: hi bob #1" in out
    assert "bob <- alice: see you later [offline]" in out
    assert "server stopped" not in out


def test_embedded_service_demo_notifies_bob(capsys):
    """The embedded service's demo answers its routes and delivers /notify to bob."""
    assert load_example("embed_in_gevent_service").main(["--demo", "--port", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "GET /health -> 200 ok" in out
    assert 'GET /stats -> 200 {"users_online": 2}' in out
    assert "POST /notify (bob) -> 200 OK" in out
    assert "bob received from system: your order has shipped" in out
    assert "POST /notify (carol) -> 200 CACHED_BY_SERVER" in out
    assert out[-1] == "stopped"


def test_peer_chat_runs_in_a_monkey_patched_process():
    """peer_chat exits 0 under ``python -m gevent.monkey``, so the SDK works patched too."""
    result = subprocess.run(
        [sys.executable, "-m", "gevent.monkey", "examples/peer_chat.py", "--messages", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bob <- alice: see you later [offline]" in result.stdout
