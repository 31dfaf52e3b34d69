"""examples/call_invitation.py runs end to end: accepted, refused and canceled calls."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "call_invitation.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_call_invitation", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_call_invitation_example_runs(capsys):
    """The example exits 0 and both sides report each call's outcome with the same ending."""
    assert load_example().main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("server listening on ws://127.0.0.1:")
    assert out[-1] == "server stopped"
    assert (
        "[bob] on_remote_invitation_received: from alice, content='video call?', "
        "channel_id='call-1'"
    ) in out
    assert out.count("[alice] on_local_invitation_received_by_peer") == 3
    # Call 1: accepted with bob's response; cancelling afterwards is too late.
    assert "[alice] on_local_invitation_accepted: response='joining call-1'" in out
    assert "[bob] on_remote_invitation_accepted" in out
    assert "states: alice ACCEPTED_BY_REMOTE (3), bob ACCEPTED (4)" in out
    assert "alice: cancel_local_invitation ... ALREADY_END" in out
    # Call 2: refused with bob's response.
    assert "[alice] on_local_invitation_refused: response='busy now'" in out
    assert "[bob] on_remote_invitation_refused" in out
    assert "states: alice REFUSED_BY_REMOTE (4), bob REFUSED (3)" in out
    # Call 3: canceled by alice; both sides are told, and bob can no longer answer.
    assert "[bob] on_remote_invitation_canceled" in out
    assert "[alice] on_local_invitation_canceled" in out
    assert "states: alice CANCELED (5), bob CANCELED (5)" in out
    assert "bob: accept_remote_invitation ... ALREADY_END" in out
    assert not [line for line in out if "failure" in line]


def test_call_invitation_example_against_an_existing_server(server, capsys):
    """With --url the example uses that server instead of embedding one."""
    assert load_example().main(["--url", server.url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "states: alice ACCEPTED_BY_REMOTE (3), bob ACCEPTED (4)" in out
    assert "states: alice CANCELED (5), bob CANCELED (5)" in out
    assert "server stopped" not in out
