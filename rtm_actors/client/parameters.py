"""``set_parameters(json_text)``: the documented keys, checked before anything applies.

Agora's ``setParameters`` takes private JSON options. This SDK honours its own keys
(``KEYS``); a text with any unknown key, bad value or bad JSON changes nothing and
gets a non-zero ``ParameterErr`` back. ``parse_parameters`` does the checking and
builds the new settings; the service applies them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rtm_actors.client.config import ClientConfig
from rtm_actors.client.sdk_log import ParameterErr, SdkLog

#: Timeouts and backoff bounds are taken in (0, MAX_SECONDS].
MAX_SECONDS = 3600.0

#: Every key, with what it sets (the docs' table comes from the same words).
KEYS: dict[str, str] = {
    "rtm.log_file": "log file path, as set_log_file (the directory must exist)",
    "rtm.log_filter": "log filter, as set_log_filter (a LogFilter value or 16-bit mask)",
    "rtm.log_file_size": "size of each of the two log files in KB, as set_log_file_size",
    "rtm.login_timeout": "seconds a login may take before LoginErrCode.TIMEOUT",
    "rtm.reconnect.min_backoff": "first reconnect delay in seconds (doubles per attempt)",
    "rtm.reconnect.max_backoff": "largest reconnect delay in seconds",
    "rtm.request_timeout": "seconds before attribute, channel and other requests time out",
    "rtm.presence_timeout": "seconds before presence and subscription requests time out",
    "rtm.peer_message_timeout": "seconds before a peer or channel message times out",
    "rtm.server_url": "the server's ws:// or wss:// URL (several nodes: comma-separated)",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a key was refused."""

    key: str
    detail: str
    code: ParameterErr


@dataclass
class Parameters:
    """What a valid ``set_parameters`` text changes."""

    config: ClientConfig
    server_url: str | None = None
    log: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def code(self) -> ParameterErr:
        """0 if everything is valid, else the first problem's code."""
        return self.problems[0].code if self.problems else ParameterErr.OK


def parse_parameters(json_text: object, config: ClientConfig, sink: SdkLog) -> Parameters:
    """Check every key of ``json_text`` and build the settings it asks for."""
    result = Parameters(config)
    try:
        if not isinstance(json_text, str | bytes):
            raise TypeError(type(json_text).__name__)
        values = json.loads(json_text)
    except (TypeError, ValueError, RecursionError) as exc:
        result.problems.append(Problem("", f"not JSON: {exc}", ParameterErr.INVALID_ARGUMENT))
        return result
    if not isinstance(values, dict) or not values:
        result.problems.append(
            Problem("", "expected a non-empty JSON object", ParameterErr.INVALID_ARGUMENT)
        )
        return result
    timings: dict[str, float] = {}
    rest: dict[str, Any] = {}
    for key, value in values.items():
        handler = _HANDLERS.get(key)
        if handler is None:
            result.problems.append(Problem(key, "unknown key", ParameterErr.NOT_SUPPORTED))
            continue
        detail = handler(result, key, value, sink, timings, rest)
        if detail is not None:
            result.problems.append(Problem(key, detail, ParameterErr.INVALID_ARGUMENT))
    if result.problems:
        return result
    new_timings = dataclasses.replace(config.timings, **timings)
    if new_timings.backoff_min > new_timings.backoff_max:
        result.problems.append(
            Problem(
                "rtm.reconnect.min_backoff",
                f"min backoff {new_timings.backoff_min} > max backoff {new_timings.backoff_max}",
                ParameterErr.INVALID_ARGUMENT,
            )
        )
        return result
    result.config = dataclasses.replace(config, timings=new_timings, **rest)
    return result


Handler = Callable[[Parameters, str, Any, SdkLog, dict[str, float], dict[str, Any]], str | None]


def _log_setting(check: str, name: str) -> Handler:
    def handle(
        result: Parameters,
        key: str,
        value: Any,
        sink: SdkLog,
        timings: dict[str, float],
        rest: dict[str, Any],
    ) -> str | None:
        if getattr(sink, check)(value) is not ParameterErr.OK:
            return f"bad value {value!r}"
        result.log[name] = value
        return None

    return handle


def _seconds(where: str, name: str) -> Handler:
    """A duration in (0, 3600] s, for a ``Timings`` field or a ``ClientConfig`` field."""

    def handle(
        result: Parameters,
        key: str,
        value: Any,
        sink: SdkLog,
        timings: dict[str, float],
        rest: dict[str, Any],
    ) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected seconds (a number), got {value!r}"
        if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
            return f"expected seconds in (0, {MAX_SECONDS:g}], got {value!r}"
        (timings if where == "timings" else rest)[name] = float(value)
        return None

    return handle


def _server_url(
    result: Parameters,
    key: str,
    value: Any,
    sink: SdkLog,
    timings: dict[str, float],
    rest: dict[str, float],
) -> str | None:
    if not isinstance(value, str) or len(value) > 2048:
        return f"expected a ws:// or wss:// URL, got {value!r}"
    for url in value.split(","):  # several nodes of one cluster, tried in turn
        try:
            parts = urlsplit(url.strip())
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            return f"bad URL {url!r}"
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            return f"expected a ws:// or wss:// URL, got {url!r}"
    result.server_url = value
    return None


_HANDLERS: dict[str, Handler] = {
    "rtm.log_file": _log_setting("check_file", "file"),
    "rtm.log_filter": _log_setting("check_filter", "filter"),
    "rtm.log_file_size": _log_setting("check_size", "size"),
    "rtm.login_timeout": _seconds("timings", "login_timeout"),
    "rtm.reconnect.min_backoff": _seconds("timings", "backoff_min"),
    "rtm.reconnect.max_backoff": _seconds("timings", "backoff_max"),
    "rtm.request_timeout": _seconds("config", "request_timeout"),
    "rtm.presence_timeout": _seconds("config", "presence_timeout"),
    "rtm.peer_message_timeout": _seconds("config", "peer_message_timeout"),
    "rtm.server_url": _server_url,
}
assert set(_HANDLERS) == set(KEYS)
