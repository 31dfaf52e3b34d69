"""The public surface: exports, lazy imports, no monkey patching, sans-IO protocol."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rtm_actors


def test_every_exported_name_is_importable_and_sorted():
    """Every name in rtm_actors.__all__ resolves, and __all__ is sorted."""
    assert rtm_actors.__all__ == sorted(rtm_actors.__all__)
    for name in rtm_actors.__all__:
        assert getattr(rtm_actors, name) is not None, name


def test_api_md_names_exist():
    """The names API.md promises at the top level exist with Agora's values."""
    assert rtm_actors.ConnectionState.CONNECTED == 3
    assert rtm_actors.PeerMessageErrCode.CACHED_BY_SERVER == 4
    for name in (
        "create_agora_service",
        "get_agora_sdk_version",
        "RtmServiceEventHandler",
        "RtmError",
    ):
        assert hasattr(rtm_actors, name)
    assert "rtm_actors" in rtm_actors.get_agora_sdk_version()


def test_every_agora_enum_is_exported_at_the_top_level():
    """Every Agora enum in protocol.codes (all a callback can pass) imports from rtm_actors."""
    import enum

    from rtm_actors.protocol import codes

    wire_only = {"DisconnectCode"}  # websocket close codes, not an Agora enum
    agora_enums = {
        name
        for name, value in vars(codes).items()
        if isinstance(value, type)
        and issubclass(value, enum.IntEnum)
        and value.__module__ == codes.__name__
    }
    assert {"LeaveChannelReason", "QueryPeersBySubscriptionOptionErr"} <= agora_enums
    assert sorted(agora_enums - wire_only - set(rtm_actors.__all__)) == []
    for name in agora_enums - wire_only:
        assert getattr(rtm_actors, name) is getattr(codes, name)


def test_unknown_attribute_raises_attribute_error():
    """A name the package does not export raises AttributeError."""
    with pytest.raises(AttributeError):
        _ = rtm_actors.no_such_name


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_protocol_imports_without_gevent_pykka_or_structlog():
    """import rtm_actors.protocol (all modules) leaves gevent, pykka and structlog unloaded."""
    out = run_python(
        "import sys, rtm_actors.protocol.codec, rtm_actors.protocol.connection, "
        "rtm_actors.protocol.flow, rtm_actors.protocol.presence, rtm_actors.protocol.limits; "
        "print(sorted(m for m in ('gevent', 'pykka', 'structlog', 'socket') if m in sys.modules))"
    )
    assert out == "[]"


def test_importing_the_package_does_not_monkey_patch():
    """import rtm_actors (and its SDK and server) patches nothing."""
    out = run_python(
        "import rtm_actors, rtm_actors.client, rtm_actors.server, gevent.monkey; "
        "print(gevent.monkey.is_anything_patched())"
    )
    assert out == "False"


def test_only_rtm_actors_locust_imports_locust():
    """The SDK, the server and the load tool run without Locust (an optional extra)."""
    out = run_python(
        "import sys, rtm_actors, rtm_actors.client, rtm_actors.server, rtm_actors.loadtest, "
        "rtm_actors.loadtest.tally; print('locust' in sys.modules)"
    )
    assert out == "False"


def test_protocol_package_has_no_forbidden_imports():
    """No module in rtm_actors/protocol imports gevent, pykka, structlog, socket or threads."""
    import ast
    import pathlib

    banned = {"gevent", "pykka", "structlog", "socket", "threading", "random", "time"}
    root = pathlib.Path(rtm_actors.__file__).parent / "protocol"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.name} imports {name}"
