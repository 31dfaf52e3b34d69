"""set_parameters: every documented key, and every kind of bad input, without a server."""

from __future__ import annotations

import json

import pytest

import rtm_actors as ra
from rtm_actors.client.config import ClientConfig
from rtm_actors.client.parameters import KEYS, parse_parameters
from rtm_actors.client.sdk_log import ParameterErr, SdkLog


def parse(values, config=None):
    text = values if isinstance(values, str) else json.dumps(values)
    return parse_parameters(text, config or ClientConfig(), SdkLog())


@pytest.mark.parametrize(
    ("key", "value", "read"),
    [
        ("rtm.login_timeout", 3, lambda p: p.config.timings.login_timeout),
        ("rtm.reconnect.min_backoff", 0.25, lambda p: p.config.timings.backoff_min),
        ("rtm.reconnect.max_backoff", 30, lambda p: p.config.timings.backoff_max),
        ("rtm.request_timeout", 2.5, lambda p: p.config.request_timeout),
        ("rtm.presence_timeout", 4, lambda p: p.config.presence_timeout),
        ("rtm.peer_message_timeout", 7, lambda p: p.config.peer_message_timeout),
        ("rtm.server_url", "wss://rtm.example.com:8443/rtm", lambda p: p.server_url),
        ("rtm.log_filter", 65535, lambda p: p.log["filter"]),
        ("rtm.log_file_size", 2048, lambda p: p.log["size"]),
    ],
)
def test_each_key_sets_its_setting(key, value, read):
    """Every documented key is accepted with a good value and lands in its setting."""
    params = parse({key: value})
    assert params.code == ParameterErr.OK
    assert read(params) == value


def test_log_file_key_checks_the_directory(tmp_path):
    """rtm.log_file is taken for an existing directory and refused for a missing one."""
    good = parse({"rtm.log_file": str(tmp_path / "rtm.log")})
    assert good.code == 0
    assert good.log["file"] == str(tmp_path / "rtm.log")
    bad = parse({"rtm.log_file": str(tmp_path / "nope" / "rtm.log")})
    assert bad.code == ParameterErr.INVALID_ARGUMENT


def test_every_key_is_documented_in_the_operations_guide():
    """docs/operations.md lists every key KEYS knows."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    missing = [key for key in KEYS if f"`{key}`" not in text]
    assert missing == []


@pytest.mark.parametrize(
    "text",
    ["", "not json", "{", "[1, 2]", '"text"', "42", "null", "{}", "[" * 100_000],
)
def test_invalid_json_or_not_an_object_is_refused(text):
    """Text that is not a non-empty JSON object gives INVALID_ARGUMENT."""
    assert parse(text).code == ParameterErr.INVALID_ARGUMENT


@pytest.mark.parametrize("text", [None, 42, b"\xff\xfe", ["rtm.login_timeout"]])
def test_non_text_input_is_refused(text):
    """Something that is not a string gives INVALID_ARGUMENT, never an exception."""
    assert parse_parameters(text, ClientConfig(), SdkLog()).code == ParameterErr.INVALID_ARGUMENT


def test_unknown_keys_are_not_supported():
    """A key this SDK does not know (even an Agora one) gives NOT_SUPPORTED."""
    params = parse({"rtm.peer.msg_qps_limit": 240})
    assert params.code == ParameterErr.NOT_SUPPORTED
    assert params.problems[0].key == "rtm.peer.msg_qps_limit"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rtm.login_timeout", 0),
        ("rtm.login_timeout", -1),
        ("rtm.login_timeout", "5"),
        ("rtm.login_timeout", True),
        ("rtm.login_timeout", None),
        ("rtm.login_timeout", 3601),
        ("rtm.reconnect.min_backoff", 0),
        ("rtm.reconnect.max_backoff", [1]),
        ("rtm.request_timeout", {"s": 1}),
        ("rtm.presence_timeout", -0.5),
        ("rtm.peer_message_timeout", 1e309),
        ("rtm.server_url", "http://127.0.0.1:8700/rtm"),
        ("rtm.server_url", "ws://"),
        ("rtm.server_url", "ws://host:99999/rtm"),
        ("rtm.server_url", 8700),
        ("rtm.log_filter", -1),
        ("rtm.log_filter", "info"),
        ("rtm.log_filter", 0x10000),
        ("rtm.log_file_size", 100),
        ("rtm.log_file_size", 2 * 1024 * 1024),
        ("rtm.log_file", ""),
        ("rtm.log_file", 5),
    ],
)
def test_bad_values_are_refused(key, value):
    """A bad value for a known key gives INVALID_ARGUMENT and names the key."""
    params = parse({key: value})
    assert params.code == ParameterErr.INVALID_ARGUMENT
    assert params.problems[0].key == key


def test_min_backoff_above_max_backoff_is_refused():
    """Backoff bounds must stay ordered, whether set together or one at a time."""
    assert parse({"rtm.reconnect.min_backoff": 5, "rtm.reconnect.max_backoff": 1}).code == -2
    assert parse({"rtm.reconnect.min_backoff": 20}).code == -2  # default max is 10 s
    both = parse({"rtm.reconnect.min_backoff": 20, "rtm.reconnect.max_backoff": 40})
    assert both.code == 0
    assert (both.config.timings.backoff_min, both.config.timings.backoff_max) == (20, 40)


def test_nothing_applies_when_one_key_is_bad():
    """All or nothing: one bad key leaves the config as it was."""
    config = ClientConfig()
    params = parse({"rtm.login_timeout": 3, "rtm.unknown": 1}, config)
    assert params.code == ParameterErr.NOT_SUPPORTED
    assert params.config is config


def test_service_set_parameters_returns_codes_and_never_raises(tmp_path):
    """RtmService.set_parameters answers 0 or a negative code for any input, before initialize."""
    rtm = ra.create_agora_service().create_rtm_service()
    assert rtm.set_parameters('{"rtm.login_timeout": 4}') == 0
    assert rtm._config.timings.login_timeout == 4
    assert rtm.set_parameters("{oops") == ParameterErr.INVALID_ARGUMENT
    assert rtm.set_parameters('{"rtm.nope": 1}') == ParameterErr.NOT_SUPPORTED
    assert rtm.set_parameters(None) == ParameterErr.INVALID_ARGUMENT  # type: ignore[arg-type]
    log = tmp_path / "rtm.log"
    assert rtm.set_parameters(json.dumps({"rtm.log_file": str(log), "rtm.log_filter": 15})) == 0
    assert rtm.set_parameters('{"rtm.bad": true}') == ParameterErr.NOT_SUPPORTED
    events = [json.loads(line) for line in log.read_text().splitlines()]
    refused = [e for e in events if e["event"] == "parameter_refused"]
    assert refused
    assert refused[-1]["key"] == "rtm.bad"
    assert refused[-1]["code"] == "NOT_SUPPORTED"
    assert refused[-1]["level"] == "warning"
